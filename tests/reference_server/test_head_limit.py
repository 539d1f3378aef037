"""The bound on a request head (request line, headers and the blank line after them): at most
16,384 bytes, however the client cuts the bytes into writes.

h11 alone measured only a head still incomplete, so a large head sent in one write passed and the
same head sent in two was refused. Every case here sends one head, of a size right at the bound,
one byte past it, or far past it, made long by its URL or by one header, in one write or in
several, and checks the exact answer; the server must answer an ordinary request afterwards.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from tests.reference_server.hostile import Answer, connect, exchange, read_answer, request
from tests.reference_server.support import ServerProcess

LIMIT = 16 * 1024
SIZES = [LIMIT, LIMIT + 1, 60_000, 120_000]
WRITES = ["one write", "two writes", "5,000-byte writes", "all but the last byte, then it"]
KINDS = ["long URL", "long header"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("head-limit")
    with ServerProcess(
        "--dev-tokens", "--database", str(folder / "rooms.db"), cwd=folder
    ) as running:
        yield running
        assert running.terminate() == 0
    assert "Traceback" not in "".join(running.lines)


def head_of(size: int, kind: str) -> bytes:
    """A GET of the room list whose head is exactly ``size`` bytes long."""

    def made(pad: int) -> bytes:
        if kind == "long URL":
            return request("GET", "/games/v1/rooms?quotaUser=" + "a" * pad)
        return request("GET", "/games/v1/rooms", headers=("X-Pad: " + "a" * pad,))

    head = made(size - len(made(0)))
    assert len(head) == size and head.endswith(b"\r\n\r\n")
    return head


def pieces(head: bytes, writes: str) -> list[bytes]:
    if writes == "one write":
        return [head]
    if writes == "two writes":
        return [head[: len(head) // 2], head[len(head) // 2 :]]
    if writes == "5,000-byte writes":
        return [head[at : at + 5000] for at in range(0, len(head), 5000)]
    return [head[:-1], head[-1:]]


def send_in_pieces(port: int, parts: list[bytes]) -> Answer:
    """Send each part in a write of its own (a pause between them, so that the server reads
    them apart), then read the answer."""
    with connect(port) as sock:
        for index, part in enumerate(parts):
            if index:
                time.sleep(0.03)
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # refused already: the answer is waiting
            sock.setblocking(False)  # an early answer means the server stopped reading
            try:
                early = sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                early = b""
            sock.setblocking(True)
            if early:
                break
        return read_answer(sock)


def assert_healthy(server: ServerProcess) -> None:
    answer = exchange(server.port, request("GET", "/games/v1/rooms"))
    assert answer.status == 200, answer.body[:300]
    assert "Traceback" not in "".join(server.lines)


CASES = [(size, writes, kind) for size in SIZES for writes in WRITES for kind in KINDS]


@pytest.mark.parametrize(
    ("size", "writes", "kind"), CASES, ids=[f"{s} bytes, {k}, {w}" for s, w, k in CASES]
)
def test_a_head_is_bounded_the_same_however_it_arrives(
    server: ServerProcess, size: int, writes: str, kind: str
) -> None:
    """R-limits-3"""
    answer = send_in_pieces(server.port, pieces(head_of(size, kind), writes))
    if size <= LIMIT:
        assert answer.status == 200, answer.body[:300]
        assert json.loads(answer.body)["kind"] == "games#roomList"
    else:
        assert answer.status == 431, answer.body[:300]
        item = answer.error()
        assert item["reason"] == "requestHeadersTooLarge"
        assert item["message"] == (
            "The request line and headers are longer than the limit of 16384 bytes"
        )
        assert answer.headers["connection"] == "close"
    assert_healthy(server)


def test_a_refused_head_is_logged_with_the_status_the_client_got(server: ServerProcess) -> None:
    """R-limits-3"""
    with connect(server.port) as sock:
        host, port = sock.getsockname()[:2]
        client = f"{host}:{port}"
        sock.sendall(head_of(60_000, "long header"))
        answer = read_answer(sock)
    assert answer.status == 431
    deadline = time.monotonic() + 10
    while True:
        found = [
            json.loads(line)
            for line in server.lines
            if line.startswith("{") and f'"client":"{client}"' in line
        ]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [(line["method"], line["path"], line["status"]) for line in found] == [(None, None, 431)]
    assert found[0]["bytes"] == len(answer.body)


def test_malformed_http_is_still_400(server: ServerProcess) -> None:
    """R-limits-3: only the size gets 431; a head that is not HTTP stays 400 ``badRequest``."""
    answer = exchange(server.port, b"GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")
    assert answer.status == 400
    item = answer.error()
    assert item["reason"] == "badRequest"
    assert item["message"] == (
        "Invalid HTTP request received. The request line and headers must be well-formed HTTP/1.1."
    )
    assert_healthy(server)

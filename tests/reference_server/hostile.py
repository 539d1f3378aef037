"""Raw HTTP/1.1 over a socket for the hostile-client tests: whatever bytes a test wants to send,
and the answer parsed just enough to check its status, headers and envelope."""

from __future__ import annotations

import json
import select
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
MEMORY_LIMIT_KB = 300 * 1024


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def error(self) -> dict[str, Any]:
        """The first item of Google's envelope, after checking the envelope's shape."""
        envelope = json.loads(self.body)
        assert set(envelope) == {"error"}, envelope
        assert envelope["error"]["code"] == self.status
        item: dict[str, Any] = envelope["error"]["errors"][0]
        assert item["domain"] == "global"
        assert item["message"] == envelope["error"]["message"]
        return item


def connect(port: int, timeout: float = 30.0) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_answer(sock: socket.socket, timeout: float = 30.0) -> Answer:
    """Read one answer (headers, then Content-Length bytes); fails on a hang past ``timeout``."""
    deadline = time.monotonic() + timeout
    data = b""
    closed = False
    while True:
        head, found, rest = data.partition(b"\r\n\r\n")
        if found:
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(rest) >= length or closed:
                return Answer(int(lines[0].split()[1]), headers, rest[:length], closed)
        if closed:
            raise AssertionError(f"the connection closed before a whole answer: {data[:300]!r}")
        left = deadline - time.monotonic()
        assert left > 0, f"no answer within {timeout} s: {data[:300]!r}"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        closed = not chunk
        data += chunk


def exchange(port: int, request: bytes, timeout: float = 30.0) -> Answer:
    with connect(port, timeout) as sock:
        sock.sendall(request)
        return read_answer(sock, timeout)


def request(
    method: str,
    target: str,
    body: bytes | None = None,
    *,
    token: str | None = "dev-alice",
    headers: tuple[str, ...] = (),
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b"")


def stream_until_answered(
    port: int, head: bytes, chunk: bytes, limit_bytes: int, timeout: float = 60.0
) -> tuple[Answer, int]:
    """Send ``head``, then ``chunk`` again and again (up to ``limit_bytes``) while watching for
    an answer; returns the answer and how many bytes went out before it came."""
    with connect(port, timeout) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        sent = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            readable, writable, _ = select.select(
                [sock], [sock] if sent < limit_bytes else [], [], 1
            )
            if readable:
                sock.setblocking(True)
                return read_answer(sock, timeout), sent
            if writable:
                try:
                    sent += sock.send(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    sock.setblocking(True)
                    return read_answer(sock, timeout), sent
        raise AssertionError(f"no answer within {timeout} s after {sent} bytes")


def peak_memory_kb(pid: int) -> int:
    """The process's peak resident set (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc")

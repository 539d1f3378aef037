"""The hostile-client catalogue: ``rooms-kit serve`` tried as an attacker would, over loopback.

Every case sends its bytes to one running server and checks the exact answer; after each case the
server must still be healthy, its log free of tracebacks and its peak memory under 300 MB. The
deadlines are shortened (1 s) so that the slow clients finish quickly; the limits are otherwise
the defaults.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reference_server.hostile import (
    MEMORY_LIMIT_KB,
    connect,
    exchange,
    peak_memory_kb,
    read_answer,
    request,
    stream_until_answered,
)
from tests.reference_server.support import ServerProcess

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("hostile")
    with ServerProcess(
        "--dev-tokens", "--database", str(folder / "rooms.db"),
        "--header-timeout", "1", "--body-timeout", "1", "--write-timeout", "1", cwd=folder,
    ) as running:  # fmt: skip
        yield running
        assert running.terminate() == 0
    assert "Traceback" not in "".join(running.lines)


def assert_healthy(server: ServerProcess) -> None:
    health = exchange(server.port, request("GET", "/healthz", token=None), timeout=30)
    assert (health.status, json.loads(health.body)) == (200, {"status": "ok"})
    log = "".join(server.lines)
    assert "Traceback" not in log
    assert '"level": "error"' not in log
    assert peak_memory_kb(server.pid) < MEMORY_LIMIT_KB


def access_lines(
    server: ServerProcess, before: int, count: int, client: str | None = None
) -> list[dict[str, object]]:
    """The access-log lines written since ``before`` (of ``client`` only, if given), waiting up to
    10 s for ``count`` of them: the log is written in batches."""
    deadline = time.monotonic() + 10
    while True:
        found = [
            json.loads(line)
            for line in server.lines[before:]
            if line.startswith("{") and '"status"' in line and '"duration_ms"' in line
        ]
        found = [line for line in found if client is None or line["client"] == client]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def nested(depth: int) -> bytes:
    """A create body whose ``capabilities`` hold ``depth`` nested arrays (depth + 1 levels)."""
    return b'{"capabilities": ' + b"[" * depth + b"]" * depth + b"}"


def create(body: bytes) -> bytes:
    return request("POST", "/games/v1/rooms/create", body)


@dataclass(frozen=True)
class Case:
    name: str
    request: bytes
    status: int
    reason: str
    location: str | None
    message: str  # a part of the message


DEEP_POINTER = "/capabilities" + "/0" * 31
CATALOGUE = [
    Case("fields: 'a(' 500 times, no token",
         request("GET", "/games/v1/rooms/x?fields=" + "a(" * 500, token=None),
         400, "invalidParameter", "fields", "nested deeper than 16 levels"),
    Case("fields: 'a/' 4,000 times, no token",
         request("GET", "/games/v1/rooms/x?fields=" + "a/" * 4000, token=None),
         400, "invalidParameter", "fields", "8000 characters long; at most 2048"),
    Case("body: JSON nested 1,000 levels", create(nested(999)),
         400, "invalid", DEEP_POINTER, "nested deeper than 32 levels"),
    Case("body: JSON nested 1,024 levels", create(nested(1023)),
         400, "invalid", DEEP_POINTER, "nested deeper than 32 levels"),
    Case("body: JSON nested 1,025 levels", create(nested(1024)),
         400, "parseError", None, "the body nests deeper than 32 levels"),
    Case("body: JSON nested 100,000 levels", create(nested(100_000)),
         400, "parseError", None, "the body nests deeper than 32 levels"),
    Case("body: Content-Length of 1 GB, nothing sent",
         create(b"").replace(b"Content-Length: 0", b"Content-Length: 1073741824"),
         413, "requestTooLarge", None, "declares 1073741824 bytes, more than the limit of 1048576"),
    Case("body: a 10,000-character capability",
         create(b'{"invitedPlayerIds": ["bob"], "capabilities": ["' + b"c" * 10_000 + b'"]}'),
         400, "invalid", "/capabilities/0", "10000 characters long; this server keeps at most 128"),
    Case("body: nine players in one room",
         create(json.dumps({"invitedPlayerIds": [f"p{i}" for i in range(8)]}).encode()),
         400, "invalid", "/invitedPlayerIds", "a room holds at most 8 players"),
    Case("body: 340,000 numbers where player ids belong (680 kB)",  # held the loop 10 s
         create(b'{"invitedPlayerIds": [' + b",".join([b"1"] * 340_000) + b"]}"),
         400, "invalid", "/invitedPlayerIds", "more than 4096 values; this server reads at most"),
    Case("body: 4,097 wrong values spread over the members",
         create(json.dumps({"capabilities": [1] * 2048, "invitedPlayerIds": [2] * 2049}).encode()),
         400, "invalid", "/invitedPlayerIds", "more than 4096 values"),
    Case("body: a 30-digit variant, shown as written",  # was shown as 1.2345678901234568e+29
         create(b'{"variant": 123456789012345678901234567890}'),
         400, "invalid", "/variant", "123456789012345678901234567890 is out of range"),
    Case("body: a 21-digit negative int32, shown as written",
         create(b'{"autoMatchingCriteria": {"minAutoMatchingPlayers": -184467440737095516160}}'),
         400, "invalid", "/autoMatchingCriteria/minAutoMatchingPlayers",
         "-184467440737095516160 is out of range"),
    Case("body: an integer of 5,000 digits",
         create(b'{"variant": 1' + b"0" * 5000 + b"}"),
         400, "parseError", None, "an integer has more than 4300 digits"),
    Case("body: 200 integers of 4,300 digits each (860 kB)",
         create(b'{"capabilities": [' + b",".join([b"9" * 4300] * 200) + b"]}"),
         400, "invalid", "/capabilities/0", "got integer 99999999999999999999"),
    Case("body: a 400-digit integer, then a trailing comma",  # was "beyond the largest double"
         create(b'{"variant": ' + b"9" * 400 + b', "invitedPlayerIds": ["bob"],}'),
         400, "parseError", None,
         "not JSON: Expecting property name enclosed in double quotes (line 1, column 443)"),
    Case("body: a 400-digit integer, then a lone surrogate escape",  # a 400 'invalid' before
         create(b'{"variant": ' + b"1" * 400 + b', "capabilities": ["\\ud800"]}'),
         400, "parseError", None, "a string holds a lone surrogate escape"),
    Case("body: 1e400, past the largest double", create(b'{"variant": 1e400}'),
         400, "parseError", None, "a number is beyond the largest double"),
    Case("body: NaN", create(b'{"variant": NaN}'),
         400, "parseError", None,
         "the body is not JSON: unexpected character, expected a JSON value (line 1, column 13)"),
    Case("body: invalid UTF-8", create(b'{"capabilities": ["\xff"]}'),
         400, "parseError", None, "the body is not UTF-8 text (byte offset 19: 0xff)"),
    Case("body: gzip, which the server does not take", create(b"\x1f\x8b\x08\x00" + b"\x00" * 16),
         400, "parseError", None, "the body is not UTF-8 text (byte offset 1: 0x8b)"),
    Case("body: a second document after the first", create(b'{"variant": 1} {}'),
         400, "parseError", None, "unexpected content after document (line 1, column 16)"),
    Case("query: maxResults=1_0", request("GET", "/games/v1/rooms?maxResults=1_0"),
         400, "invalidParameter", "maxResults", "'1_0' is not an integer"),
    Case("query: maxResults=+5", request("GET", "/games/v1/rooms?maxResults=%2B5"),
         400, "invalidParameter", "maxResults", "'+5' is not an integer"),
    Case("query: maxResults=%205", request("GET", "/games/v1/rooms?maxResults=%205"),
         400, "invalidParameter", "maxResults", "' 5' is not an integer"),
    Case("query: maxResults=Arabic-Indic five", request("GET", "/games/v1/rooms?maxResults=%D9%A5"),
         400, "invalidParameter", "maxResults", "is not an integer"),
    Case("query: maxResults of 26 digits",
         request("GET", "/games/v1/rooms?maxResults=" + "9" * 26),
         400, "invalidParameter", "maxResults", "is out of range"),
    Case("http: malformed Content-Length",
         create(b"{}").replace(b"Content-Length: 2", b"Content-Length: +2"),
         400, "badRequest", None, "Invalid HTTP request received."),
    Case("http: 200 kB of headers",
         request("GET", "/healthz", headers=tuple(f"X-Pad-{i}: {'a' * 1000}" for i in range(200))),
         431, "requestHeadersTooLarge", None, "longer than the limit of 16384 bytes"),
    Case("http: two Authorization headers, two players",  # the first was used, silently
         request("GET", "/games/v1/rooms", headers=("Authorization: Bearer dev-bob",)),
         400, "badRequest", "Authorization", "Header Authorization is given more than once"),
    Case("http: not HTTP at all", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 500,
         400, "badRequest", None, "Invalid HTTP request received."),
]  # fmt: skip


@pytest.mark.parametrize("case", CATALOGUE, ids=[case.name for case in CATALOGUE])
def test_catalogue(server: ServerProcess, case: Case) -> None:
    """R-limits-2 R-errors-1"""
    answer = exchange(server.port, case.request)
    assert answer.status == case.status, answer.body[:500]
    item = answer.error()
    assert item["reason"] == case.reason
    assert item.get("location") == case.location
    assert case.message in item["message"]
    assert_healthy(server)


ECHOES = [
    ("an unknown property with a 500 kB name",
     create(b'{"' + b"x" * 500_000 + b'": 1}'), 400),
    # A path is bounded by the request head (16 KiB, 431 beyond): the longest that gets through.
    ("a 16 kB path", request("GET", "/games/v1/rooms/" + "r" * 16_000 + "/nowhere"), 404),
    ("a 16 kB room id", request("GET", "/games/v1/rooms/" + "r" * 16_000), 404),
]  # fmt: skip


@pytest.mark.parametrize(("what", "sent", "status"), ECHOES, ids=[e[0] for e in ECHOES])
def test_an_error_answer_never_grows_with_the_request(
    server: ServerProcess, what: str, sent: bytes, status: int
) -> None:
    """R-limits-2: messages and locations quote the client's input clipped, so a large input
    gets a small answer (and a short access-log line)."""
    answer = exchange(server.port, sent)
    assert answer.status == status, answer.body[:500]
    assert len(answer.body) < 4096, what
    assert "more characters)" in answer.error()["message"]
    assert max(len(line) for line in server.lines) < 4096
    assert_healthy(server)


def test_a_1_gb_chunked_body_is_cut_at_the_cap(server: ServerProcess) -> None:
    """R-limits-2"""
    head = (
        b"POST /games/v1/rooms/create HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer dev-alice\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    answer, sent = stream_until_answered(server.port, head, chunk, limit_bytes=1024 * MIB)
    assert answer.status == 413
    assert answer.error()["message"] == (
        "The request body is longer than the limit of 1048576 bytes"
    )
    assert answer.headers["connection"] == "close"
    assert sent < 1024 * MIB
    assert_healthy(server)


def test_a_100_mb_capability_is_refused_and_never_stored(server: ServerProcess) -> None:
    """R-limits-2"""
    head = create(b"").replace(b"Content-Length: 0", f"Content-Length: {100 * MIB}".encode())
    body = b'{"invitedPlayerIds": ["bob"], "capabilities": ["' + b"x" * MIB
    answer, _ = stream_until_answered(server.port, head, body, limit_bytes=100 * MIB)
    assert answer.status == 413
    listed = exchange(server.port, request("GET", "/games/v1/rooms", token="dev-bob"))
    assert listed.status == 200
    assert len(listed.body) < 10_000
    assert_healthy(server)


def test_an_answer_before_the_body_closes_the_connection_politely(server: ServerProcess) -> None:
    """R-limits-3: a request answered before its body was read (here 401) does not keep the
    connection: the answer arrives whole, then the connection ends."""
    head = request("POST", "/games/v1/rooms/create", token="nobody").replace(
        b"\r\n\r\n", f"\r\nContent-Length: {MIB}\r\n\r\n".encode()
    )
    answer, _ = stream_until_answered(server.port, head, b" " * 65536, limit_bytes=MIB)
    assert answer.status == 401
    assert_healthy(server)


def test_slow_headers_get_408(server: ServerProcess) -> None:
    """R-limits-3"""
    before = len(server.lines)
    started = time.monotonic()  # before the connection, whose opening starts the server's timer
    with connect(server.port) as sock:
        client = "{}:{}".format(*sock.getsockname())
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answer = read_answer(sock)
    assert answer.status == 408
    assert answer.error() == {
        "domain": "global",
        "reason": "requestTimeout",
        "message": "The request headers did not arrive within 1 seconds",
    }
    assert 0.5 < time.monotonic() - started < 20
    (line,) = access_lines(server, before, 1, client)  # what the client got is in the log too
    assert (line["method"], line["path"], line["status"]) == (None, None, 408)
    assert line["bytes"] == len(answer.body) and float(str(line["duration_ms"])) >= 500
    assert_healthy(server)


def test_on_a_kept_alive_connection_the_header_deadline_counts_from_the_last_answer(
    server: ServerProcess,
) -> None:
    """R-limits-3. The header timer is armed once and re-armed lazily: a wait that began after
    it was set (here, 0.6 s into the connection) still gets its whole second."""
    opened = time.monotonic()  # the first timer: due 1 s after this; the right one: 1.6 s at least
    with connect(server.port) as sock:
        time.sleep(0.6)
        sock.sendall(request("GET", "/healthz", token=None).replace(b"close", b"keep-alive"))
        assert read_answer(sock).status == 200
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answer = read_answer(sock)
        waited = time.monotonic() - opened
    assert answer.status == 408
    assert answer.error()["message"] == "The request headers did not arrive within 1 seconds"
    # not at the first timer (0.4 s after the answer): counted from before the connection, not
    # from when the answer reached this process (which a loaded machine delays by any amount)
    assert 1.5 < waited < 20
    assert_healthy(server)


def test_a_slow_body_gets_408(server: ServerProcess) -> None:
    """R-limits-3"""
    head = create(b"").replace(b"Content-Length: 0", b"Content-Length: 100")
    before = len(server.lines)
    with connect(server.port) as sock:
        client = "{}:{}".format(*sock.getsockname())
        sock.sendall(head + b'{"invitedPlayerIds"')
        answer = read_answer(sock)
    assert answer.status == 408
    assert answer.error()["message"] == "The request body did not arrive within 1 seconds"
    (line,) = access_lines(server, before, 1, client)  # 408 as the client got (it said 400)
    assert (line["method"], line["path"], line["status"]) == ("POST", "/games/v1/rooms/create", 408)
    assert line["bytes"] == len(answer.body)
    assert_healthy(server)


def test_an_idle_connection_is_closed(server: ServerProcess) -> None:
    """R-limits-3"""
    with connect(server.port) as sock:
        sock.sendall(request("GET", "/healthz", token=None).replace(b"close", b"keep-alive"))
        first = read_answer(sock)
        assert first.status == 200
        sock.settimeout(30)
        assert sock.recv(100) == b""  # closed by the server, with no answer to nothing
    assert_healthy(server)


def test_a_client_that_never_reads_its_answers_is_dropped(server: ServerProcess) -> None:
    """R-limits-3: pipelined requests whose answers are never read fill the socket; once writing
    has been stalled for the write timeout, the connection goes (before: held for good)."""
    keep_alive = request("GET", "/healthz", token=None).replace(b"close", b"keep-alive")
    before = len(server.lines)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    with sock:
        sock.settimeout(30)  # a server that keeps the connection makes sendall time out
        sock.connect(("127.0.0.1", server.port))
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for _ in range(2000):  # at most 140 MB of requests, far more than the buffers hold
                sock.sendall(keep_alive * 1000)
    dropped = "dropped a connection that left its answers unread for 1 seconds"
    deadline = time.monotonic() + 10
    while not any(dropped in line for line in server.lines[before:]):
        assert time.monotonic() < deadline, "no log line about the dropped connection"
        time.sleep(0.05)
    assert_healthy(server)


def test_a_flood_of_malformed_requests_writes_a_bounded_log(tmp_path: Path) -> None:
    """R-limits-3. A server of its own: the module's server has logged malformed requests of
    the catalogue in a rate-limit window that, on a quick run, could still be open here and
    end in the middle of the flood (letting a second burst of lines through)."""
    with ServerProcess("--dev-tokens", "--database", ":memory:", cwd=tmp_path) as server:
        for _ in range(300):
            answer = exchange(server.port, b"NOT HTTP\r\n\r\n")
            assert answer.status == 400
        assert_healthy(server)
        added = [line for line in server.lines if "Invalid HTTP request" in line]
        assert 1 <= len(added) <= 10
        assert "rate_limited" in added[-1]
        lines = access_lines(server, 0, 300)
        refusals = [line for line in lines if (line["method"], line["status"]) == (None, 400)]
        assert len(refusals) >= 300  # one access line per answer, as for every request
        assert server.terminate() == 0


def test_beyond_the_connection_cap_503_with_retry_after(tmp_path: Path) -> None:
    """R-limits-3: connections busy with a request are not displaced; the next one is refused."""
    with ServerProcess("--dev-tokens", "--database", ":memory:", "--max-connections", "3",
                       cwd=tmp_path) as small:  # fmt: skip
        busy = [connect(small.port) for _ in range(3)]
        try:
            for sock in busy:  # a body is promised and never sent: the request stays open
                promise = b"Content-Length: 10\r\nExpect: 100-continue"
                sock.sendall(create(b"").replace(b"Content-Length: 0", promise))
            for sock in busy:  # the go-ahead: the server holds this request (no fixed pause)
                assert read_answer(sock).status == 100
            refused = exchange(small.port, request("GET", "/healthz", token=None))
        finally:
            for sock in busy:
                sock.close()
        assert refused.status == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.error()["reason"] == "backendError"
        lines = access_lines(small, 0, 4)  # the refusal, and the busy requests' ends
        refusals = [line for line in lines if line["method"] is None]
        assert [line["status"] for line in refusals] == [503]
        ended = [line for line in lines if line["method"] == "POST"]
        assert len(ended) == 3  # their connections have left the count (no fixed pause)
        again = exchange(small.port, request("GET", "/healthz", token=None))
        assert again.status == 200
        assert small.terminate() == 0


REQUEST_LINES = st.one_of(
    st.sampled_from([b"GET /healthz HTTP/1.1", b"POST /games/v1/rooms/create HTTP/1.1",
                     b"GET /games/v1/rooms?maxResults=5 HTTP/1.1", b"GET / HTTP/1.0",
                     b"GET /games/v1/rooms/%ff%00 HTTP/1.1", b"GET " + b"/a" * 3000 + b" HTTP/1.1",
                     b"BREW /pot HTCPCP/1.0", b"", b"GET"]),
    st.binary(max_size=60),
)  # fmt: skip
HEADER_LINES = st.lists(
    st.one_of(
        st.sampled_from([b"Host: 127.0.0.1", b"Authorization: Bearer dev-alice",
                         b"Content-Length: 5", b"Content-Length: -1", b"Content-Length: 5, 6",
                         b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip",
                         b"Expect: 100-continue", b"Connection: keep-alive", b": empty",
                         b"X-Folded: a\r\n b", b"X-Nul: \x00"]),
        st.binary(max_size=40),
    ),
    max_size=6,
)  # fmt: skip


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(line=REQUEST_LINES, headers=HEADER_LINES, body=st.binary(max_size=64))
def test_raw_http_bytes_never_get_a_5xx(
    server: ServerProcess, line: bytes, headers: list[bytes], body: bytes
) -> None:
    """R-errors-1: arbitrary bytes through the HTTP parser (request line, headers, body)."""
    data = b"\r\n".join([line, *headers, b"Connection: close"]) + b"\r\n\r\n" + body
    with connect(server.port, timeout=30) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return  # the server already closed on us: no answer, and so no 5xx
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break  # closed with bytes of ours unread; what came before still counts
            if not chunk:
                break
            received += chunk
    if received:
        status = int(received.split(b" ", 2)[1])
        assert status < 500, received[:300]
    assert "Traceback" not in "".join(server.lines)


def test_healthy_after_the_raw_bytes(server: ServerProcess) -> None:
    """R-errors-1"""
    assert_healthy(server)


def test_head_is_answered_as_get_without_the_body(server: ServerProcess) -> None:
    """RFC 9110: HEAD wherever GET is; it answered 405 with 'Allow: GET'."""
    auth = {"Authorization": "Bearer dev-alice"}
    with httpx.Client(base_url=server.base_url, trust_env=False, timeout=30) as http:
        got = http.get("/games/v1/rooms", headers=auth)
        head = http.head("/games/v1/rooms", headers=auth)
        again = http.get("/games/v1/rooms", headers=auth)  # the same connection: no stray bytes
        refused = http.put("/games/v1/rooms", headers=auth)
    assert (got.status_code, head.status_code, again.status_code) == (200, 200, 200)
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert again.json() == got.json()
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD"
    assert_healthy(server)

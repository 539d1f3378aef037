"""Clients that misbehave towards the proxy: each case gets the exact answer, within the bounds of
``ConnectionLimits`` and ``Limits``, and the proxy keeps serving afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Iterator

import pytest

from rooms_kit.reference_server.limits import ConnectionLimits, raw_response
from rooms_kit.traffic.checking import Limits
from tests.traffic.hostile import hostile
from tests.traffic.support import LoopbackServer, ProxyRun, proxy_in_front_of

LIMITS = Limits(seconds=1.0, max_request_bytes=4096, max_response_bytes=256 * 1024)
CONNECTIONS = ConnectionLimits(
    max_connections=4, header_timeout=0.5, keep_alive_timeout=1, max_header_bytes=1024
)
GET = b"GET /games/v1/rooms/%s HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t-1234\r\n\r\n"
OK_CHUNKED = b"\r\n\r\n2\r\nok\r\n0\r\n\r\n"  # /healthz, re-framed: the upstream sent no length
ROOM_END = b"}\r\n0\r\n\r\n"  # the last bytes of a room from the hostile upstream, re-framed
WAIT = 10.0  # far above every bound here: only a hang would reach it


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with LoopbackServer(hostile) as server:
        yield server.url


@pytest.fixture
def proxy(upstream: str) -> Iterator[ProxyRun]:
    with proxy_in_front_of(upstream, limits=LIMITS, connection_limits=CONNECTIONS) as running:
        yield running


def _connect(proxy: ProxyRun) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])), timeout=WAIT)
    return sock


def _until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _send(proxy: ProxyRun, *parts: bytes, pause: float = 0.0) -> bytes:
    """Send ``parts`` (``pause`` s apart), then read until the proxy closes the connection."""
    with _connect(proxy) as sock:
        for part in parts:
            sock.sendall(part)
            time.sleep(pause)
        return _until_closed(sock)


def _error(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)["error"]


def _still_healthy(proxy: ProxyRun) -> None:
    with _connect(proxy) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(OK_CHUNKED)


# name, what the client sends (and the pause between parts), status, reason, words of the message
CATALOGUE = [
    (
        "head_too_large",
        [b"GET /games/v1/rooms/x HTTP/1.1\r\nx-pad: " + b"p" * 2000 + b"\r\n\r\n"],
        431,
        "requestHeadersTooLarge",
        "larger than 1024 bytes",
    ),
    ("slow_head", [b"GET /games/v1/rooms/x HTTP/1.1\r\n"], 408, "requestTimeout", "head"),
    (
        "slow_body",
        [b"POST /games/v1/rooms/create HTTP/1.1\r\ncontent-length: 100\r\n\r\n{}"],
        408,
        "requestTimeout",
        "body did not arrive within 1 s",
    ),
    ("not_http", [b"\x16\x03\x01 hello\r\n\r\n"], 400, "badRequest", "malformed"),
    (  # the parser knows the standard methods only: documented, not forwarded
        "unknown_method",
        [b"FOO /games/v1/rooms HTTP/1.1\r\nhost: x\r\n\r\n"],
        400,
        "badRequest",
        "malformed",
    ),
    (
        "upgrade",
        [b"GET /games/v1/rooms/x HTTP/1.1\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n"],
        400,
        "badRequest",
        "upgrades are not supported",
    ),
    (  # an absolute-form target that is no URL: the error escaped, the client waited for good
        "target_not_a_url",
        [b"GET http://[::1/games/v1/rooms HTTP/1.1\r\nhost: x\r\n\r\n"],
        400,
        "badRequest",
        "the request target is not a URL",
    ),
    (
        "chunked_body_too_large",
        [b"POST /games/v1/rooms/create HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"]
        + [b"400\r\n" + b"x" * 1024 + b"\r\n"] * 5
        + [b"0\r\n\r\n"],
        413,
        "requestTooLarge",
        "larger than 4096 bytes",
    ),
]


@pytest.mark.parametrize(
    ("name", "parts", "status", "reason", "words"), CATALOGUE, ids=[c[0] for c in CATALOGUE]
)
def test_hostile_client(
    proxy: ProxyRun, name: str, parts: list[bytes], status: int, reason: str, words: str
) -> None:
    begun = time.monotonic()
    answer = _send(proxy, *parts)
    assert time.monotonic() - begun < WAIT
    got, error = _error(answer)
    assert (got, error["code"]) == (status, status)
    assert error["errors"][0]["reason"] == reason  # type: ignore[index]
    assert words in str(error["message"])
    assert proxy.monitor.exchanges == 0  # nothing went upstream
    _still_healthy(proxy)


# the refusals the proxy makes itself once the request line is in, each asked with the method
# put in for %s: name, what the client sends (and the pause between parts), the status line
REFUSED_ONCE_THE_METHOD_IS_KNOWN = [
    (
        "head_too_large",
        [b"%s /games/v1/rooms/x HTTP/1.1\r\nx-pad: " + b"p" * 2000 + b"\r\n\r\n"],
        b"431 Request Header Fields Too Large",
    ),
    ("slow_head", [b"%s /games/v1/rooms/x HTTP/1.1\r\n"], b"408 Request Timeout"),
    (
        "slow_body",
        [b"%s /games/v1/rooms/x HTTP/1.1\r\ncontent-length: 100\r\n\r\n{}"],
        b"408 Request Timeout",
    ),
    (
        "malformed_header",
        [b"%s /games/v1/rooms/x HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n"],
        b"400 Bad Request",
    ),
    (
        "upgrade",
        [b"%s /games/v1/rooms/x HTTP/1.1\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n"],
        b"400 Bad Request",
    ),
    (
        "target_not_a_url",
        [b"%s http://[::1/games/v1/rooms HTTP/1.1\r\nhost: x\r\n\r\n"],
        b"400 Bad Request",
    ),
    (
        "body_too_large",
        [b"%s /games/v1/rooms/x HTTP/1.1\r\ncontent-length: 5000\r\n\r\n" + b"x" * 5000],
        b"413 Content Too Large",
    ),
    (
        "chunked_body_too_large",
        [b"%s /games/v1/rooms/x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"]
        + [b"400\r\n" + b"x" * 1024 + b"\r\n"] * 5
        + [b"0\r\n\r\n"],
        b"413 Content Too Large",
    ),
]


@pytest.mark.parametrize(
    ("name", "parts", "status"),
    REFUSED_ONCE_THE_METHOD_IS_KNOWN,
    ids=[c[0] for c in REFUSED_ONCE_THE_METHOD_IS_KNOWN],
)
def test_a_refusal_to_head_is_the_head_alone(
    proxy: ProxyRun, name: str, parts: list[bytes], status: bytes
) -> None:
    """HTTP allows no body after the answer to HEAD; the proxy's own refusals sent the envelope
    all the same. Now the HEAD gets the very head a GET gets, its content-length included, and
    not one byte after it."""
    as_get = _send(proxy, parts[0] % b"GET", *parts[1:])
    head, _, body = as_get.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status + b"\r\n"), head
    assert b"content-length: %d\r\n" % len(body) in head and body
    answer = _send(proxy, parts[0] % b"HEAD", *parts[1:])
    assert answer == head + b"\r\n\r\n"
    assert proxy.monitor.exchanges == 0  # nothing went upstream
    _still_healthy(proxy)


def test_too_many_pipelined_head_requests_get_the_429_head_alone(proxy: ProxyRun) -> None:
    asked = b"HEAD /games/v1/rooms/r%d HTTP/1.1\r\nhost: x\r\n\r\n"
    answer = _send(proxy, b"".join(asked % number for number in range(20)))
    heads = answer.split(b"HTTP/1.1 ")[1:]
    assert [int(head[:3]) for head in heads] == [200] * 17 + [429]
    refused = raw_response(
        429,
        "Too Many Requests",
        "rateLimitExceeded",
        "more than 16 requests sent ahead of their answers",
    )
    assert b"HTTP/1.1 " + heads[-1] == refused.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
    _still_healthy(proxy)


def test_pipelined_requests_are_answered_in_order(proxy: ProxyRun) -> None:
    with _connect(proxy) as sock:
        sock.sendall(GET % b"one" + GET % b"two" + GET % b"three")
        data = b""
        while data.count(ROOM_END) < 3:
            data += sock.recv(65536)
    assert [data.index(b'"%s"' % name) for name in (b"one", b"two", b"three")] == sorted(
        data.index(b'"%s"' % name) for name in (b"one", b"two", b"three")
    )
    proxy.wait(3)
    _still_healthy(proxy)


def test_too_many_pipelined_requests_get_429_after_the_answers_before_them(
    proxy: ProxyRun,
) -> None:
    answer = _send(proxy, b"".join(GET % b"r%d" % number for number in range(20)))
    statuses = [int(part[:3]) for part in answer.split(b"HTTP/1.1 ")[1:]]
    assert statuses == [200] * 17 + [429]  # one answered at once, 16 waiting, then the refusal
    assert b"more than 16 requests" in answer
    _still_healthy(proxy)


def _until_open_connections(proxy: ProxyRun, count: int) -> None:
    """Until the proxy has ``count`` client connections open (it counts them on its loop)."""
    deadline = time.monotonic() + WAIT
    while len(proxy.parts.proxy.connections) != count:
        assert time.monotonic() < deadline, len(proxy.parts.proxy.connections)
        time.sleep(0.01)


def test_connections_beyond_the_cap_get_503_with_retry_after(proxy: ProxyRun) -> None:
    held = [_connect(proxy) for _ in range(4)]
    try:
        _until_open_connections(proxy, 4)
        with _connect(proxy) as extra:
            answer = _until_closed(extra)
    finally:
        for sock in held:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 503")
    assert b"retry-after: 1" in answer.lower()
    _until_open_connections(proxy, 0)  # the held ones' ends seen: room again (a fixed pause
    _still_healthy(proxy)  # of 0.2 s was not always enough for the proxy's thread under load)


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(proxy: ProxyRun) -> None:
    with _connect(proxy) as sock:
        begun = time.monotonic()  # before the request: the idle time counts from its answer,
        sock.sendall(GET % b"fine")  # which may reach this thread late under load
        data = b""
        while not data.endswith(ROOM_END):
            data += sock.recv(65536)
        assert sock.recv(65536) == b""  # closed by the proxy, not by this test's timeout
        assert CONNECTIONS.keep_alive_timeout <= time.monotonic() - begun < WAIT


def test_a_client_gone_before_the_answer_leaves_the_proxy_healthy(proxy: ProxyRun) -> None:
    with _connect(proxy) as sock:
        sock.sendall(GET % b"hang")
    proxy.wait(1)  # judged when the upstream's time is up
    assert proxy.checks() == {"responds_in_time"}
    _still_healthy(proxy)


def test_expect_100_continue_gets_the_go_ahead_then_the_answer(proxy: ProxyRun) -> None:
    with _connect(proxy) as sock:
        sock.sendall(
            b"POST /games/v1/rooms/fine HTTP/1.1\r\ncontent-length: 2\r\n"
            b"expect: 100-continue\r\nconnection: close\r\n\r\n"
        )
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"{}")
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK") and b'"roomId": "fine"' in answer


def test_head_gets_the_head_alone_and_the_connection_goes_on(proxy: ProxyRun) -> None:
    with _connect(proxy) as sock:
        sock.sendall(b"HEAD /games/v1/rooms/fine HTTP/1.1\r\nhost: x\r\n\r\n")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200 OK")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        rest = _until_closed(sock)
    assert rest.startswith(b"HTTP/1.1 200 OK") and rest.endswith(OK_CHUNKED)


PATIENT_WRITES = ConnectionLimits(max_connections=4, write_timeout=2.0)
ROOMY = Limits(seconds=1.0, max_request_bytes=4096, max_response_bytes=32 * 1024 * 1024)


@pytest.fixture
def roomy_proxy(upstream: str) -> Iterator[ProxyRun]:
    """Room for a 16 MiB answer; a client may leave its answer unread for 2 s."""
    with proxy_in_front_of(upstream, limits=ROOMY, connection_limits=PATIENT_WRITES) as running:
        yield running


def _stalled(proxy: ProxyRun) -> socket.socket:
    """A connection whose client reads nothing of a 16 MiB answer: a small receive window, so
    the proxy has to stop reading the upstream's answer (which came at once) for it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])))
    sock.sendall(GET % b"large")
    return sock


def _read_quickly(sock: socket.socket, answers: int) -> bytes:
    """The client reads again, with a large window, until ``answers`` large rooms are in."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    received = b""
    while received.count(b'"roomId": "large"') < answers:
        chunk = sock.recv(1 << 20)
        assert chunk, received.count(b'"roomId": "large"')
        received += chunk
    return received


def test_a_slow_reader_is_not_the_upstreams_delay(roomy_proxy: ProxyRun) -> None:
    """The answer stays unread past the upstream's 1 s, then is read whole: the upstream sent it
    at once, so no responds_in_time (the proxy blamed the upstream for the client's pace)."""
    with _stalled(roomy_proxy) as sock:
        time.sleep(1.5)
        data = b""
        while len(data) < 16 * 1024 * 1024:
            chunk = sock.recv(1 << 20)
            assert chunk, len(data)
            data += chunk
    assert b'"roomId": "large"' in data
    roomy_proxy.wait(1)
    assert roomy_proxy.checks() == set()
    _still_healthy(roomy_proxy)


@pytest.mark.parametrize("leaves", [True, False], ids=["closes", "never_reads"])
def test_a_client_that_stops_reading_is_dropped_and_the_answer_still_judged(
    roomy_proxy: ProxyRun, leaves: bool
) -> None:
    """A client that hangs up with its answer unread, or leaves it unread past the write
    timeout (2 s here), costs the exchange nothing: the upstream's answer is read to its end
    and judged (it used to wait, never judged, until the upstream's time ran out and was then
    blamed on the upstream)."""
    begun = time.monotonic()
    with _stalled(roomy_proxy) as sock:
        if not leaves:
            roomy_proxy.wait(1)  # dropped after 2 s without reading
            assert 1.5 < time.monotonic() - begun < WAIT
            received = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(1 << 20):
                    received += chunk
            assert b'"roomId": "large"' in received  # what the kernel held, then the end
            assert len(received) < 16 * 1024 * 1024
        else:
            time.sleep(0.5)
    roomy_proxy.wait(1)
    assert roomy_proxy.checks() == set()
    assert roomy_proxy.monitor.exchanges == 1
    _still_healthy(roomy_proxy)


@pytest.fixture
def roomy_strict_proxy(upstream: str) -> Iterator[ProxyRun]:
    """``roomy_proxy`` in strict mode: an answer goes out whole once judged (the upstream has
    all of ``WAIT`` for it: a client reading meanwhile slows everything in this process)."""
    limits = Limits(seconds=WAIT, max_request_bytes=4096, max_response_bytes=32 * 1024 * 1024)
    with proxy_in_front_of(
        upstream, strict=True, limits=limits, connection_limits=PATIENT_WRITES
    ) as running:
        yield running


def test_in_strict_mode_a_client_that_never_reads_its_judged_answer_is_dropped(
    roomy_strict_proxy: ProxyRun,
) -> None:
    """Strict mode writes the answer whole once it is judged, after the exchange has left the
    exchanges in flight: a client that never read it kept its connection, and the 16 MiB
    waiting for it, until the proxy stopped (1,000 such clients: 16 GiB and every connection
    the proxy accepts). It is dropped once writing has waited the write timeout (2 s here)."""
    proxy = roomy_strict_proxy.parts.proxy
    begun = time.monotonic()
    with _stalled(roomy_strict_proxy) as sock:
        roomy_strict_proxy.wait(1)
        while proxy.connections and time.monotonic() - begun < WAIT:
            time.sleep(0.05)
        assert not proxy.connections  # dropped, not kept until the proxy stops
        assert time.monotonic() - begun > 1.5
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(1 << 20):
                received += chunk
        assert received.startswith(b"HTTP/1.1 200 OK")
        assert len(received) < 16 * 1024 * 1024  # what the kernel held, then the end
    assert roomy_strict_proxy.checks() == set()
    with _connect(roomy_strict_proxy) as sock:  # still serving (strict mode sends sized answers)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n")
    assert answer.endswith(b"\r\n\r\nok")


def test_a_pipelining_client_that_does_not_read_gets_no_more_answers_fetched_for_it(
    roomy_strict_proxy: ProxyRun,
) -> None:
    """Three 16 MiB answers asked for at once by a client that reads nothing. Once the first
    (judged, then written whole) stops the writing, the next request waited for nothing: it
    went upstream, and its answer joined the first in memory, outside --max-held-bytes (16
    pipelined requests: 272 MiB for one connection). The next request now waits until the
    client reads again; read, every answer comes."""
    proxy = roomy_strict_proxy.parts.proxy
    with _stalled(roomy_strict_proxy) as sock:
        sock.sendall(GET % b"large" + GET % b"large")  # behind the one _stalled sent
        roomy_strict_proxy.wait(1)
        (client,) = proxy.connections
        assert client.transport is not None
        loop = client.transport._loop  # type: ignore[attr-defined]

        async def forwarded_once_writing_stopped() -> int:
            while not client.stalled_at:  # set by the first answer's writing, on the loop
                await asyncio.sleep(0.01)
            return proxy.count

        probe = asyncio.run_coroutine_threadsafe(forwarded_once_writing_stopped(), loop)
        assert probe.result(WAIT) == 1
        received = _read_quickly(sock, answers=3)
    assert proxy.count == 3
    assert received.count(b"HTTP/1.1 200 OK\r\n") == 3


def test_in_strict_mode_a_client_that_reads_slowly_but_steadily_keeps_its_connection(
    roomy_strict_proxy: ProxyRun,
) -> None:
    """The judged answer (16 MiB) goes out whole, and writing resumes only once nearly all of it
    is read: a client reading on, 1 MiB every 0.2 s (3 s in all, past the 2 s write timeout),
    gets it all; only time without any byte read counts against it."""
    with _stalled(roomy_strict_proxy) as sock:
        roomy_strict_proxy.wait(1)
        received = b""
        next_pause = 1 << 20
        expected = -1  # the whole answer's length, once its head is in
        while len(received) != expected:
            chunk = sock.recv(1 << 16)
            assert chunk, len(received)  # closed early: the client was dropped
            received += chunk
            head, found, _ = received.partition(b"\r\n\r\n")
            if found and expected < 0:
                assert head.startswith(b"HTTP/1.1 200 OK\r\ncontent-length: ")
                declared = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
                assert declared > 16 * 1024 * 1024
                expected = len(head) + 4 + declared
            if len(received) >= next_pause:
                time.sleep(0.2)
                next_pause += 1 << 20
        sock.settimeout(0.5)  # nothing past the declared length
        with contextlib.suppress(TimeoutError):
            assert sock.recv(1) == b""
    assert received.endswith(b" " * 64)


def test_a_request_sent_after_an_answer_left_unread_waits_until_the_client_reads(
    roomy_strict_proxy: ProxyRun,
) -> None:
    """The same client sends its next request only once the first answer is over (not
    pipelined): it went upstream at once, whatever the client had left unread, and so on for
    every request (no MAX_PIPELINED bound there). It now waits as a pipelined one does."""
    proxy = roomy_strict_proxy.parts.proxy
    with _stalled(roomy_strict_proxy) as sock:
        roomy_strict_proxy.wait(1)
        (client,) = proxy.connections
        assert client.transport is not None
        loop = client.transport._loop  # type: ignore[attr-defined]

        async def writing_stopped() -> None:
            while not client.stalled_at:  # the first answer stopped the writing
                await asyncio.sleep(0.01)

        asyncio.run_coroutine_threadsafe(writing_stopped(), loop).result(WAIT)
        sock.sendall(GET % b"large")

        async def forwarded_once_it_came() -> tuple[int, float]:
            while not client.waiting and proxy.count < 2:  # parsed on the loop
                await asyncio.sleep(0.01)
            return proxy.count, client.deadline

        # not forwarded, and no request deadline left running on it (that would answer 408
        # 'the request body did not arrive' to a request that arrived whole)
        probe = asyncio.run_coroutine_threadsafe(forwarded_once_it_came(), loop)
        assert probe.result(WAIT) == (1, 0.0)
        _read_quickly(sock, answers=2)
    assert proxy.count == 2

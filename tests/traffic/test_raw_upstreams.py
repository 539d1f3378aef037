"""The proxy's upstream side against answers only a raw socket sends: broken HTTP, an oversized
head, a body that runs until the close, an interim 100, a kept-alive connection that the server
drops or writes on unasked. Each case gets its exact answer, and the proxy keeps serving."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from rooms_kit.traffic.checking import Limits
from tests.traffic.raw_upstream import ROOM, START_LIMIT, RawUpstream
from tests.traffic.support import ProxyRun, proxy_in_front_of

LIMITS = Limits(seconds=2.0, max_request_bytes=4096, max_response_bytes=256 * 1024)
TOKEN = {"Authorization": "Bearer t-1234"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with RawUpstream() as server:
        yield server.url


@pytest.fixture
def proxy(upstream: str) -> Iterator[ProxyRun]:
    with proxy_in_front_of(upstream, limits=LIMITS) as running:
        yield running


def _get(proxy: ProxyRun, name: str) -> httpx.Response:
    with httpx.Client(base_url=proxy.url, trust_env=False, timeout=20) as client:
        return client.get(f"/games/v1/rooms/{name}", headers=TOKEN)


def _still_serving(proxy: ProxyRun) -> None:
    answer = _get(proxy, "fine")
    assert (answer.status_code, answer.content) == (200, ROOM % b"fine")


@pytest.mark.parametrize(
    ("name", "words"),
    [
        (
            "garbage",
            "the upstream dropped the request: the answer breaks HTTP/1.1: its status line or "
            "headers cannot be parsed",
        ),
        ("bighead", "head is larger than 65536 bytes"),
        ("status000", "the answer breaks HTTP/1.1: status 000 is below 100"),
    ],
)
def test_a_broken_answer_is_502_and_a_violation(proxy: ProxyRun, name: str, words: str) -> None:
    answer = _get(proxy, name)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["errors"][0]["reason"] == "upstreamFailed"
    assert words in error["message"]
    assert "Error" not in error["message"]  # the kit's words, not an exception's or a parser's
    proxy.wait(1)
    assert proxy.checks() == {"not_a_server_error"}
    _still_serving(proxy)


@pytest.mark.parametrize("name", ["unsized", "interim"])
def test_an_unusual_but_valid_answer_passes_whole(proxy: ProxyRun, name: str) -> None:
    answer = _get(proxy, name)
    assert (answer.status_code, answer.content) == (200, ROOM % name.encode())
    proxy.wait(1)
    assert proxy.monitor.violations == 0, proxy.lines()
    _still_serving(proxy)


@pytest.mark.parametrize("name", ["oneshot", "unasked"])
def test_a_kept_alive_connection_that_goes_bad_is_not_used_again(
    proxy: ProxyRun, name: str
) -> None:
    """The second request would meet a dropped connection or stray bytes: it goes on a new one
    (sent again when the server closed before answering)."""
    first, second = _get(proxy, name), _get(proxy, name)
    assert [first.status_code, second.status_code] == [200, 200]
    assert json.loads(second.content)["roomId"] == name
    proxy.wait(2)
    assert proxy.monitor.violations == 0, proxy.lines()


def test_an_upstream_that_refuses_the_connection_is_named_in_words() -> None:
    with socket.socket() as bound:  # bound, never listening: every connection is refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        with proxy_in_front_of(url, limits=LIMITS) as proxy:
            answer = _get(proxy, "fine")
            proxy.wait(1)
            lines = proxy.lines()
    assert answer.status_code == 502
    reason = "no answer: the upstream cannot be reached: connection refused"
    assert (
        answer.json()["error"]["message"]
        == f"rooms-kit proxy: {reason.removeprefix('no answer: ')}"
    )
    assert lines == [f"proxy:1: get GET /games/v1/rooms/fine: [not_a_server_error] {reason}"]


def test_two_content_encodings_are_one_list(proxy: ProxyRun) -> None:
    # gzip in two headers is gzip twice (RFC 9110): judged as the coding the suite refuses, not
    # as a body once decompressed that is not JSON
    with httpx.Client(base_url=proxy.url, trust_env=False, timeout=20) as client:
        with client.stream("GET", "/games/v1/rooms/twice", headers=TOKEN) as answer:
            raw = b"".join(answer.iter_raw())
    assert answer.status_code == 200
    assert gzip.decompress(gzip.decompress(raw)) == ROOM % b"twice"  # forwarded unchanged
    proxy.wait(1)
    assert [(f.check, f.title) for f in proxy.monitor.results.failures] == [
        ("http_protocol", "content encoding 'gzip, gzip' was not asked for")
    ]
    _still_serving(proxy)


def test_a_failed_tls_handshake_is_named_in_words() -> None:
    # an https upstream that speaks plain HTTP: OpenSSL's error code 1 was read as the system's
    # errno 1, "operation not permitted"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"https://127.0.0.1:{listener.getsockname()[1]}"

        def plain_http_at_once() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

        speaker = threading.Thread(target=plain_http_at_once, daemon=True)
        speaker.start()
        with proxy_in_front_of(url, limits=LIMITS) as proxy:
            answer = _get(proxy, "fine")
            proxy.wait(1)
        speaker.join(START_LIMIT)
    assert answer.status_code == 502
    assert answer.json()["error"]["message"] == (
        "rooms-kit proxy: the upstream cannot be reached: the TLS handshake failed: "
        "wrong version number"
    )

"""The proxy against upstreams that misbehave: every case ends within its bounds with the exact
answer and the named check, and the proxy keeps serving afterwards."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from rooms_kit.traffic.checking import Limits
from tests.traffic.hostile import _bomb, hostile
from tests.traffic.support import LoopbackServer, ProxyRun, proxy_in_front_of

LIMITS = Limits(seconds=1.0, max_request_bytes=4096, max_response_bytes=256 * 1024)
"""For the cases where the time bound must fire: kept short so that they end soon."""
PATIENT = Limits(seconds=30.0, max_request_bytes=4096, max_response_bytes=256 * 1024)
"""For every other case: an answer the upstream sends at once must never meet the time bound,
however slowly a loaded machine runs the test (1 s was seen to pass under a parallel run)."""


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    _bomb()  # compressed once, before any clock runs
    with LoopbackServer(hostile) as server:
        yield server.url


@pytest.fixture
def proxy(upstream: str) -> Iterator[ProxyRun]:
    with proxy_in_front_of(upstream, limits=PATIENT) as running:
        yield running


@pytest.fixture
def hasty_proxy(upstream: str) -> Iterator[ProxyRun]:
    with proxy_in_front_of(upstream, limits=LIMITS) as running:
        yield running


def _get(proxy: ProxyRun, name: str) -> httpx.Response | httpx.HTTPError:
    with httpx.Client(base_url=proxy.url, trust_env=False, timeout=20) as client:
        try:
            return client.get(f"/games/v1/rooms/{name}", headers={"Authorization": "Bearer t-1234"})
        except httpx.HTTPError as exc:
            return exc


def _still_healthy(proxy: ProxyRun) -> None:
    with httpx.Client(base_url=proxy.url, trust_env=False, timeout=20) as client:
        answer = client.get("/healthz")
    assert (answer.status_code, answer.text) == (200, "ok")


# name, what the client gets (status or "cut"), the check named, words of its title
CATALOGUE = [
    ("hang", 504, "responds_in_time", "no answer in time"),
    ("drip", "cut", "responds_in_time", "answer not complete in time"),
    ("huge", "cut", "response_size", "body larger than 262144 bytes on the wire"),
    ("bomb", 200, "response_size", "body larger than 262144 bytes after decompression"),
    ("html", 200, "json_content_type", "content type text/html"),
    ("short", "cut", "complete_response", "answer cut short"),
]


@pytest.mark.parametrize(
    ("name", "answer", "check", "title"), CATALOGUE, ids=[c[0] for c in CATALOGUE]
)
def test_hostile_upstream(
    request: pytest.FixtureRequest, name: str, answer: int | str, check: str, title: str
) -> None:
    timed = check == "responds_in_time"
    proxy: ProxyRun = request.getfixturevalue("hasty_proxy" if timed else "proxy")
    got = _get(proxy, name)
    if answer == "cut":  # the status went out at once; the body stops, the connection closes
        assert isinstance(got, httpx.RemoteProtocolError), got
    else:
        assert isinstance(got, httpx.Response), got
        assert got.status_code == answer
    proxy.wait(1)
    failures = proxy.monitor.results.failures
    assert [(f.check, f.title) for f in failures][:1] == [(check, title)]
    assert proxy.lines()[0].startswith(f"proxy:1: get GET /games/v1/rooms/{name}: [{check}]")
    _still_healthy(proxy)


def test_hang_answers_504_in_googles_envelope(hasty_proxy: ProxyRun) -> None:
    got = _get(hasty_proxy, "hang")
    assert isinstance(got, httpx.Response)
    error = got.json()["error"]
    assert error["code"] == 504
    assert error["errors"][0]["reason"] == "upstreamFailed"
    assert "1 s" in error["message"]


def test_a_head_request_gets_the_proxys_own_answer_without_its_body(
    hasty_proxy: ProxyRun,
) -> None:
    # The 504 the proxy made for a HEAD carried its envelope after the head, although an answer
    # to HEAD has no body: on a kept-alive connection the client took those bytes for the start
    # of its next answer. Now only the head goes out (its content-length says what a GET gets).
    port = int(hasty_proxy.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"HEAD /games/v1/rooms/hang HTTP/1.1\r\nhost: x\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        head, _, after = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 504 Gateway Timeout\r\n")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        while chunk := sock.recv(65536):
            after += chunk
    assert after.startswith(b"HTTP/1.1 200 OK\r\n"), after[:100]
    assert after.endswith(b"\r\n\r\n2\r\nok\r\n0\r\n\r\n")
    _still_healthy(hasty_proxy)


def test_unreachable_upstream_is_502(tmp_path: object) -> None:
    with LoopbackServer(hostile) as gone:
        url = gone.url
    with proxy_in_front_of(url, limits=LIMITS) as proxy:
        got = _get(proxy, "anything")
        assert isinstance(got, httpx.Response)
        assert got.status_code == 502
        proxy.wait(1)
        assert got.json()["error"]["code"] == 502
        assert proxy.checks() == {"not_a_server_error"}


def test_request_body_over_the_limit_is_413_and_not_forwarded(proxy: ProxyRun) -> None:
    with httpx.Client(base_url=proxy.url, trust_env=False, timeout=20) as client:
        got = client.post("/games/v1/rooms/create", content=b"x" * 5000)
    assert got.status_code == 413
    assert json.loads(got.content)["error"]["code"] == 413
    assert proxy.monitor.exchanges == 0  # nothing reached the upstream, nothing judged
    _still_healthy(proxy)


def test_a_good_answer_passes_unchanged(proxy: ProxyRun) -> None:
    got = _get(proxy, "fine")
    assert isinstance(got, httpx.Response)
    assert got.status_code == 200
    assert (
        got.content
        == b'{"kind": "games#room", "roomId": "fine", "status": "ROOM_ACTIVE", "roomStatusVersion": 1}'
    )

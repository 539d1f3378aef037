"""Exchanges the proxy's stop has to give up on (its grace ran out before their answers did).

Before, they vanished: the clients' connections were dropped without a word, and the exchanges were
neither judged, recorded, said nor counted. Now each is ended by the proxy: a client that has
nothing yet gets 503 (reason ``proxyStopping``) in Google's envelope, one whose answer was under
way has it cut; each is said on standard error and counted as unjudged (the upstream's answer is
not whole, so there is nothing fair to judge and it is no violation), and everything else goes on:
exchanges that ended meanwhile are judged and recorded as always. The tests' proxies stop with a
grace of 1 s (``support.ProxyThread``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rooms_kit.traffic.proxy import Proxy
from rooms_kit.traffic.serving import unjudged_lines
from tests.traffic.hostile import hostile
from tests.traffic.support import LoopbackServer, proxy_in_front_of, room_get
from tests.traffic.test_judging_beside_loop import Held

WAIT = 10.0  # far above every bound here: only a hang would reach it
GET = b"GET /games/v1/rooms/%s HTTP/1.1\r\nhost: x\r\nauthorization: Bearer t-1234\r\n\r\n"

STOPPING = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n"


def _asking(url: str, name: bytes, *, close: bool = False) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=WAIT)
    request = GET % name
    sock.sendall(request[:-2] + b"connection: close\r\n\r\n" if close else request)
    return sock


def _rest(sock: socket.socket) -> bytes:
    """Everything the proxy sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(1 << 16):
        received += chunk
    sock.close()
    return received


def _stopping_error(answer: bytes) -> dict[str, Any]:
    """The error of a 503 the stop sent (connection closed after it), in Google's envelope."""
    assert answer.startswith(STOPPING), answer[:200]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nconnection: close\r\n" in head + b"\r\n"
    error: dict[str, Any] = json.loads(body)["error"]
    assert (error["code"], error["errors"][0]["reason"]) == (503, "proxyStopping")
    return error


def _until(condition: object) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the proxy never got that far"
        time.sleep(0.01)


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_an_unanswered_request_gets_503_at_the_stop_and_is_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strict: bool
) -> None:
    record = tmp_path / "traffic.ndjson"
    with LoopbackServer(hostile) as upstream:
        with proxy_in_front_of(upstream.url, strict=strict, record=record) as run:
            fine = _asking(run.url, b"good", close=True)
            assert _rest(fine).startswith(b"HTTP/1.1 200 OK\r\n")
            run.wait(1)
            hanging = _asking(run.url, b"hang")
            _until(lambda: run.parts.proxy.in_flight)
        # the proxy has stopped (its grace: 1 s); the client was answered, then let go
        answer = _rest(hanging)
        monitor = run.monitor
    error = _stopping_error(answer)
    assert error["message"] == "rooms-kit proxy: stopping; the upstream did not answer within 1 s"
    assert (monitor.exchanges, monitor.cut_at_stop, monitor.unjudged) == (2, 1, 0)
    assert (monitor.violations, monitor.defects) == (0, 0)  # the stop is nobody's violation
    assert capsys.readouterr().err.count("rooms-kit proxy: exchange") == 1
    lines = record.read_text().splitlines()  # the finished exchange, recorded as always
    assert [json.loads(line)["n"] for line in lines] == [1]
    assert run.parts.proxy.held == 0


def test_the_stop_line_names_the_exchange_cut(capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(hostile) as upstream:
        with proxy_in_front_of(upstream.url) as run:
            hanging = _asking(run.url, b"hang")
            _until(lambda: run.parts.proxy.in_flight)
        _rest(hanging)
    assert capsys.readouterr().err == (
        "rooms-kit proxy: exchange 1 (get GET /games/v1/rooms/hang) went through neither checked "
        "nor recorded: no answer had come 1 s after the stop began: answered 503 "
        "(proxyStopping)\n"
    )


def test_an_answer_under_way_at_the_stop_is_cut_and_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The upstream sent its head and keeps dripping the body (for 30 s): what went out to the
    client stays, then the connection ends; no 503 after a head already sent."""
    with LoopbackServer(hostile) as upstream:
        with proxy_in_front_of(upstream.url) as run:
            dripping = _asking(run.url, b"drip")
            assert dripping.recv(1 << 16).startswith(b"HTTP/1.1 200 OK\r\n")
        received = _rest(dripping)
        monitor = run.monitor
    assert b"503" not in received
    assert not received.endswith(b"0\r\n\r\n")  # the chunked body never ends: it was cut
    assert (monitor.exchanges, monitor.cut_at_stop, monitor.violations) == (1, 1, 0)
    assert capsys.readouterr().err == (  # said as what it was: a cut, not a 503
        "rooms-kit proxy: exchange 1 (get GET /games/v1/rooms/drip) went through neither checked "
        "nor recorded: its answer was not whole 1 s after the stop began: cut\n"
    )


def test_the_proxy_serves_on_after_a_cut_exchange_until_it_stops() -> None:
    """Requests that arrive on other connections during the grace are still refused cleanly,
    and the stop neither hangs nor raises (``ProxyThread.stop`` asserts both)."""
    with LoopbackServer(hostile) as upstream:
        with proxy_in_front_of(upstream.url, strict=True) as run:
            first = _asking(run.url, b"hang")
            second = _asking(run.url, b"hang")
            _until(lambda: len(run.parts.proxy.in_flight) == 2)
            begun = time.monotonic()
        took = time.monotonic() - begun
        answers = [_rest(first), _rest(second)]
    assert all(answer.startswith(STOPPING) for answer in answers)
    assert run.monitor.cut_at_stop == 2
    assert took < WAIT  # the grace (1 s), not the upstream's hour


def test_the_closing_summary_says_each_cause_apart() -> None:
    assert unjudged_lines(0, 0) == []
    assert unjudged_lines(2, 3) == [
        "rooms-kit proxy: 2 exchange(s) went through neither checked nor recorded, past "
        "--max-held-bytes (each said above)",
        "rooms-kit proxy: 3 exchange(s) had no whole answer when the stop's wait ended (30 s at "
        "most): answered 503 or, when under way, cut; neither checked nor recorded (each said "
        "above)",
    ]


def _release_once_given_up(proxy: Proxy, held: Held) -> threading.Thread:
    """Lets the held verdict come only once the stop's grace has run out (the exchange has left
    ``in_flight``), however late the stop begins on a loaded machine."""

    def release() -> None:
        _until(lambda: not proxy.in_flight)
        held.release.set()

    releasing = threading.Thread(target=release)
    releasing.start()
    return releasing


def test_a_strict_answer_still_awaiting_its_verdict_at_the_stop_gets_503(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Strict mode: the upstream answered whole, but the judging worker had not given the verdict
    when the grace ran out. The client's connection was dropped without a byte (the answer may not
    go out unjudged); it now gets 503 ``proxyStopping``, said on standard error, and the exchange
    is still judged and recorded (its answer is whole) as the stop ends."""
    record = tmp_path / "traffic.ndjson"
    with LoopbackServer(hostile) as upstream:
        with proxy_in_front_of(upstream.url, strict=True, record=record) as run:
            inspections = run.parts.proxy.inspections
            held = Held(hold=1, judged=run.monitor.inspect)
            inspections._inspect = held
            inspections.inline_bytes = 0  # every exchange goes to the worker
            waiting = _asking(run.url, b"good")
            assert held.started.wait(WAIT)
            releasing = _release_once_given_up(run.parts.proxy, held)
        releasing.join()
        answer = _rest(waiting)
        monitor = run.monitor
    error = _stopping_error(answer)
    assert error["message"] == (
        "rooms-kit proxy (strict): stopping; the answer was not checked within 1 s, so it is "
        "not sent"
    )
    assert capsys.readouterr().err == (
        "rooms-kit proxy: exchange 1 (get GET /games/v1/rooms/good): its verdict was not ready 1 s "
        "after the stop began: its client got 503 (the exchange is still judged and recorded)\n"
    )
    assert (monitor.exchanges, monitor.cut_at_stop, monitor.unjudged) == (1, 0, 0)
    assert (monitor.violations, monitor.defects) == (0, 0)
    lines = record.read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [1]
    assert run.parts.proxy.in_flight == {} and run.parts.proxy.held == 0


def test_a_head_request_at_the_stop_gets_the_503_head_alone() -> None:
    with LoopbackServer(hostile) as upstream:
        with proxy_in_front_of(upstream.url) as run:
            port = int(run.url.rsplit(":", 1)[1])
            asking = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
            asking.sendall(b"HEAD /games/v1/rooms/hang HTTP/1.1\r\nhost: x\r\n\r\n")
            _until(lambda: run.parts.proxy.in_flight)
        answer = _rest(asking)
        monitor = run.monitor
    assert answer.startswith(STOPPING), answer[:200]
    assert answer.endswith(b"\r\nconnection: close\r\n\r\n")  # no body after it
    assert (monitor.exchanges, monitor.cut_at_stop, monitor.violations) == (1, 1, 0)


def test_a_strict_answer_awaiting_its_verdict_for_a_client_gone_is_not_said_answered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with LoopbackServer(hostile) as upstream:
        with proxy_in_front_of(upstream.url, strict=True) as run:
            inspections = run.parts.proxy.inspections
            held = Held(hold=1, judged=run.monitor.inspect)
            inspections._inspect = held
            inspections.inline_bytes = 0
            _asking(run.url, b"good").close()  # it asks, and leaves before any answer
            assert held.started.wait(WAIT)
            _until(lambda: not run.parts.proxy.connections)
            releasing = _release_once_given_up(run.parts.proxy, held)
        releasing.join()
    assert capsys.readouterr().err == (
        "rooms-kit proxy: exchange 1 (get GET /games/v1/rooms/good): its verdict was not ready 1 s "
        "after the stop began, and its client had gone (the exchange is still judged and "
        "recorded)\n"
    )
    assert (run.monitor.exchanges, run.monitor.cut_at_stop) == (1, 0)
    assert run.parts.proxy.in_flight == {}


def test_the_stop_names_an_exchange_as_the_monitors_lines_do() -> None:
    """The stop's line about a verdict not ready said ``(GET /path)`` where every other line
    says ``(get GET /path)``; both now come from ``monitor.named``, credentials aliased."""
    with proxy_in_front_of("http://127.0.0.1:9") as run:
        name = run.parts.proxy.name
        aliases = run.parts.aliases
        token = "tok-secret-1234"
        alias = aliases.of_authorization(f"Bearer {token}")
        room = room_get(1, "r1", b"{}", started=0.0)
        outside = room_get(2, "x", b"", started=0.0)
        outside.path, outside.query = "/healthz", f"oauth_token={token}"
        assert name(room) == "get GET /games/v1/rooms/r1"
        assert name(outside) == f"(outside the API) GET /healthz?oauth_token={alias}"

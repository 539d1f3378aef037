"""Servers on loopback for the traffic tests, and Google's client driving a scenario.

``LoopbackServer`` runs any ASGI app (the reference app, a broken variant, a hostile upstream) on
uvicorn in a thread, on 127.0.0.1 with a port the kernel picks; ``ProxyThread`` does the same for
the proxy, which serves by itself (``rooms_kit.traffic.serving.serve``). The scenario
drives real traffic with Google's own client built from the generated discovery document; each
step keeps its result or the exception it raised, so a broken upstream never stops the traffic.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httplib2
import httpx
import uvicorn
from googleapiclient.discovery import build_from_document
from rooms_api.documents import discovery_document

from rooms_kit.reference_server.limits import ConnectionLimits
from rooms_kit.reference_server.serving import bind
from rooms_kit.traffic.checking import Judge, Limits
from rooms_kit.traffic.monitor import Monitor
from rooms_kit.traffic.proxy import Proxy
from rooms_kit.traffic.seen import Seen
from rooms_kit.traffic.serving import Assembled, ProxySettings, assemble, serve

START_LIMIT = 20.0
MAX_PAGES = 4
_JUDGE: list[Judge] = []


def judge() -> Judge:
    """One judge for the whole test run (compiling the validators takes a moment)."""
    if not _JUDGE:
        _JUDGE.append(Judge())
    return _JUDGE[0]


class LoopbackServer:
    def __init__(self, app: Any, *, lifespan: str = "off") -> None:
        sock = bind("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            access_log=False,
            log_config=None,
            lifespan=lifespan,
            http="h11",  # as before httptools came in with the proxy: the same upstream behaviour
            timeout_graceful_shutdown=1,  # a hostile upstream's hanging answers are cut at stop
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + START_LIMIT
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("the loopback server did not start")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(START_LIMIT)
        assert not self.thread.is_alive(), "the loopback server did not stop"

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ProxyThread:
    """The proxy serving on 127.0.0.1 (a free port) in a thread with its own event loop."""

    def __init__(self, proxy: Proxy) -> None:
        sock = bind("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self.proxy = proxy
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
        self.thread.start()
        if not self._started.wait(START_LIMIT):
            raise AssertionError(f"the proxy did not start: {self.failure!r}")

    def _run(self, sock: Any) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(self.proxy, sock, self._stop, on_started=self._started.set, grace=1)

        try:
            asyncio.run(main())
        except BaseException as exc:  # shown by the test that waits for the start or the stop
            self.failure = exc
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(START_LIMIT)
        assert not self.thread.is_alive(), "the proxy did not stop"
        assert self.failure is None, self.failure


@dataclass
class ProxyRun:
    url: str
    parts: Assembled
    out: io.StringIO

    @property
    def monitor(self) -> Monitor:
        return self.parts.monitor

    def wait(self, exchanges: int) -> None:
        """Until the proxy has judged that many exchanges (judging follows the answer)."""
        deadline = time.monotonic() + START_LIMIT
        while self.parts.proxy.inspections.judged < exchanges:
            assert time.monotonic() < deadline, "the proxy did not judge the exchange"
            time.sleep(0.01)

    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()

    def checks(self) -> set[str]:
        return {record.check for record in self.monitor.results.failures}


@contextmanager
def proxy_in_front_of(
    upstream: str,
    *,
    strict: bool = False,
    record: Path | None = None,
    rotate_bytes: int | None = None,
    limits: Limits | None = None,
    connection_limits: ConnectionLimits | None = None,
) -> Iterator[ProxyRun]:
    settings = ProxySettings(
        upstream=upstream,
        strict=strict,
        record=record,
        rotate_bytes=rotate_bytes,
        limits=limits or Limits(),
        connection_limits=connection_limits or ConnectionLimits(),
    )
    out = io.StringIO()
    parts = assemble(settings, out, judge())
    try:
        server = ProxyThread(parts.proxy)
        try:
            yield ProxyRun(server.url, parts, out)
        finally:
            server.stop()
    finally:
        parts.close()


class BearerHttp(httplib2.Http):  # type: ignore[misc]
    """``httplib2.Http`` that signs every request with one player's bearer token."""

    def __init__(self, token: str) -> None:
        super().__init__(timeout=30)
        self._token = token

    def request(
        self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any
    ) -> Any:
        headers = {**(headers or {}), "authorization": f"Bearer {self._token}"}
        return super().request(uri, method, body=body, headers=headers, **kwargs)


def rooms_for(base_url: str, token: str, opened: list[BearerHttp]) -> Any:
    http = BearerHttp(token)
    opened.append(http)
    service = build_from_document(
        discovery_document(),
        http=http,
        client_options={"api_endpoint": f"{base_url}/games/v1/"},
    )
    return service.rooms()


@dataclass
class Outcomes:
    steps: dict[str, Any] = field(default_factory=dict)

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        try:
            result = action()
        except Exception as exc:  # a broken upstream may break the client; traffic goes on
            result = exc
        self.steps[name] = result
        return result

    def failed(self) -> dict[str, Exception]:
        return {k: v for k, v in self.steps.items() if isinstance(v, Exception)}


def _field(value: Any, *path: Any) -> Any:
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def scenario(base_url: str) -> Outcomes:
    """Four rooms' lives and a few mistakes, as real clients would send them."""
    opened: list[BearerHttp] = []
    try:
        return _scenario(base_url, opened)
    finally:
        for http in opened:
            http.close()


SCENARIO_TOKENS = ("dev-alice", "dev-bob", "dev-carol", "dev-eve")
"""The bearer tokens ``scenario`` sends, one per player."""


def _scenario(base_url: str, opened: list[BearerHttp]) -> Outcomes:
    alice, bob, carol, eve = (rooms_for(base_url, token, opened) for token in SCENARIO_TOKENS)
    run = Outcomes()
    create = {"invitedPlayerIds": ["bob"], "requestId": "31337", "variant": 2}
    room = run.step("create", lambda: alice.create(body=create, language="en").execute())
    room_id = _field(room, "roomId") or "missing"
    run.step("create again", lambda: alice.create(body=create, language="en").execute())
    run.step("bob lists", lambda: bob.list(maxResults=5).execute())
    joined = run.step(
        "bob joins",
        lambda: bob.join(roomId=room_id, body={"capabilities": ["reliable_messaging"]}).execute(),
    )
    bob_id = _field(joined, "participants", 1, "id") or "missing"
    updates = {"updates": [{"participantId": bob_id, "status": "CONNECTION_ESTABLISHED"}]}
    run.step("alice reports", lambda: alice.reportStatus(roomId=room_id, body=updates).execute())
    run.step(
        "bob leaves", lambda: bob.leave(roomId=room_id, body={"reason": "PLAYER_LEFT"}).execute()
    )
    run.step("alice gets", lambda: alice.get(roomId=room_id).execute())

    declined = run.step(
        "second room", lambda: alice.create(body={"invitedPlayerIds": ["bob"]}).execute()
    )
    declined_id = _field(declined, "roomId") or "missing"
    run.step("bob declines", lambda: bob.decline(roomId=declined_id).execute())
    dismissed = run.step(
        "third room", lambda: alice.create(body={"invitedPlayerIds": ["bob"]}).execute()
    )
    dismissed_id = _field(dismissed, "roomId") or "missing"
    run.step("bob dismisses", lambda: bob.dismiss(roomId=dismissed_id).execute())
    run.step("bob lists again", lambda: bob.list().execute())

    run.step("eve's own room", lambda: eve.create(body={"invitedPlayerIds": ["carol"]}).execute())
    run.step("eve peeks", lambda: eve.get(roomId=room_id).execute())

    gone = run.step(
        "fourth room", lambda: alice.create(body={"invitedPlayerIds": ["carol"]}).execute()
    )
    gone_id = _field(gone, "roomId") or "missing"
    run.step("alice leaves", lambda: alice.leave(roomId=gone_id, body={}).execute())
    run.step("carol joins too late", lambda: carol.join(roomId=gone_id, body={}).execute())

    run.step("bad create", lambda: alice.create(body={"variant": "not a number"}).execute())

    for number in range(3):
        run.step(
            f"paging room {number + 1}",
            lambda: carol.create(body={"invitedPlayerIds": ["dave"]}).execute(),
        )
    dave = rooms_for(base_url, "dev-dave", opened)
    request = dave.list(maxResults=2)
    for page in range(MAX_PAGES):  # a broken server may page forever
        answer = run.step(f"dave's page {page + 1}", request.execute)
        if isinstance(answer, Exception):
            break
        request = dave.list_next(request, answer)
        if request is None:
            break
    with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as raw:
        run.step("no token", lambda: raw.get("/games/v1/rooms").status_code)
        run.step(
            "maxResults 0",
            lambda: (
                raw.get(
                    "/games/v1/rooms",
                    params={"maxResults": "0"},
                    headers={"Authorization": "Bearer dev-bob"},
                ).status_code
            ),
        )
    return run


def room_get(number: int, room_id: str, body: bytes, *, started: float) -> Seen:
    """A ``get`` of ``room_id`` by player-1, answered 200 with the JSON ``body``."""
    return Seen(
        number=number,
        started=started,
        method="GET",
        path=f"/games/v1/rooms/{room_id}",
        query="",
        player="player-1",
        request_headers=[],
        request_body=b"",
        status=200,
        response_headers=[("content-type", "application/json")],
        response_body=body,
    )

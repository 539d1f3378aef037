"""The whole reference server as one ASGI application: ``create_reference_app``.

Around the generated stub (which owns everything under ``/games/v1/``) it adds:

- ``GET /healthz`` — ``{"status": "ok"}`` once the database answers a read, 503 otherwise (also
  when it has not answered within ``HEALTH_SECONDS``);
- one JSON line per request on the ``rooms_kit.access`` logger: time, method, path, status,
  bytes, duration, client address. The query string and headers are left out, since they may
  carry a token (``oauth_token``, ``Authorization``);
- an answer in Google's envelope for a request the stub did not finish: 500 for an error that
  got past it, 503 for a request cancelled because the server is stopping (its grace is over).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from rooms_api._stub import clip
from rooms_api.server import DEFAULT_MAX_BODY_BYTES, WireRoomsHandler, create_app
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rooms_kit.reference_server.access_log import (
    ACCESS_LOGGER,
    MAX_LOGGED_PATH,
    REFUSED_KEY,
    access_line,
    log_line,
)
from rooms_kit.reference_server.adapter import ReferenceAuthenticator, ReferenceRoomsHandler
from rooms_kit.reference_server.auth import NO_TOKENS, AuthModeError, TokenResolver, load_token_file
from rooms_kit.reference_server.group_commit import GroupCommitter
from rooms_kit.reference_server.hand_over import HandOver, ThreadHandOver
from rooms_kit.reference_server.limits import error_body
from rooms_kit.reference_server.service import DEFAULT_APPLICATION_ID, RoomService, wall_clock_ms
from rooms_kit.reference_server.sqlite_store import SqliteStore
from rooms_kit.reference_server.storage import Store
from rooms_kit.reference_server.stores import is_postgres, open_store

HEALTH_PATH = "/healthz"
HEALTH_SECONDS = 5.0
"""How long ``/healthz`` waits for the database before answering 503 (a load balancer's check
gives up after a few seconds anyway, and a stuck database must read as unhealthy, not hang)."""
STOPPING_MESSAGE = "The server stopped before finishing this request."


class ReferenceApp:
    """ASGI application: health endpoint, access log, then the generated stub."""

    def __init__(
        self,
        inner: ASGIApp,
        *,
        service: RoomService,
        resolver: TokenResolver,
        store: Store,
        writer: GroupCommitter | None = None,
        hand_over: HandOver | None = None,
    ) -> None:
        self.inner = inner
        # The generated app sends every request to the stub (its router's default): calling
        # that directly skips Starlette's layers, which the stub does not need (it answers every
        # error itself, in Google's envelope).
        self._stub: ASGIApp = getattr(getattr(inner, "router", None), "default", None) or inner
        self.writer = writer
        self.hand_over = hand_over
        self.service = service
        self.resolver = resolver
        self.store = store
        self.access_log = logging.getLogger(ACCESS_LOGGER)
        self._checks: set[asyncio.Future[bool]] = set()
        """Health checks given up on, still finishing (held so they are not collected)."""

    @property
    def development_mode(self) -> bool:
        return self.resolver.development_mode

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()  # the writes already queued are committed first
        if self.hand_over is not None:
            self.hand_over.close()  # so are the calls already handed to its threads
        self.store.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        started = time.perf_counter()
        outcome: dict[str, int] = {"status": 500, "bytes": 0, "started": 0}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = int(message["status"])
                outcome["started"] = 1
            elif message["type"] == "http.response.body":
                outcome["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            if scope["path"] == HEALTH_PATH:
                await self._health(scope, recording_send)
            else:
                await self._stub(scope, receive, recording_send)
        except asyncio.CancelledError:
            # uvicorn cancels the requests still running when its graceful shutdown is over:
            # the client is told so in the envelope, and the request ends here rather than as
            # an exception for uvicorn to print with its traceback.
            LOGGER.warning("%s %s cancelled: the server is stopping", *_request_line(scope))
            if not outcome["started"]:
                await _error(recording_send, 503, STOPPING_MESSAGE)
        except Exception:
            # The stub answers its handler's errors itself; this is for one past it.
            LOGGER.exception("%s %s failed", *_request_line(scope))
            if not outcome["started"]:
                await _error(recording_send, 500, "Internal error.")
        finally:
            refused = scope.get(REFUSED_KEY)
            if refused is not None:  # the connection layer answered instead (a late body: 408)
                outcome = {"status": refused[0], "bytes": refused[1]}
            log_line(self.access_log, access_line(scope, outcome, started))

    async def _health(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            status, body = 405, {"status": "method not allowed"}
        else:
            answers = await self._database_answers()
            if answers is None:
                status, body = 503, UNAVAILABLE
            else:
                status, body = (200, {"status": "ok"}) if answers else (503, READ_ONLY)
        await _send_json(send, status, json.dumps(body).encode(), b"application/json")

    async def _database_answers(self) -> bool | None:
        """Whether the store takes writes (``Store.takes_writes``), or None when it does not
        answer within ``HEALTH_SECONDS``. A check still running then is cancelled and left to
        finish on its own (a PostgreSQL statement takes a few more seconds to be cancelled), so
        the answer never waits for it."""
        if self.hand_over is not None:  # where the store's other calls run
            check = asyncio.ensure_future(self.hand_over.call(self.store.takes_writes))
        else:
            check = asyncio.ensure_future(run_in_threadpool(self.store.takes_writes))
        try:
            async with asyncio.timeout(HEALTH_SECONDS):
                return await asyncio.shield(check)
        except Exception:  # an error, or no answer in time
            return None
        finally:
            if not check.done():
                check.cancel()
                self._checks.add(check)
                check.add_done_callback(self._checks.discard)
            check.add_done_callback(_ignore_outcome)


LOGGER = logging.getLogger(__name__)
UNAVAILABLE = {"status": "database unavailable"}
READ_ONLY = {"status": "database is read-only"}


def _ignore_outcome(check: asyncio.Future[bool]) -> None:
    """Mark a health check's outcome as seen (its error already made the answer 503)."""
    if not check.cancelled():
        check.exception()


def _request_line(scope: Scope) -> tuple[str, str]:
    return str(scope.get("method")), clip(str(scope.get("path")), MAX_LOGGED_PATH)


async def _error(send: Send, status: int, message: str) -> None:
    """Answer ``status`` in Google's envelope (``backendError``)."""
    body = error_body(status, "backendError", message)
    await _send_json(send, status, body, b"application/json; charset=UTF-8")


async def _send_json(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


MEMORY_THREADS = 4
"""Threads for a ``:memory:`` database, whose one connection serves a call at a time anyway."""


def _may_hold_tokens(database: str | Path) -> bool:
    """Whether ``database`` may hold stored tokens: not when it is a SQLite file yet to be made
    (or ``:memory:``, made empty)."""
    if is_postgres(database):
        return True
    return str(database) != ":memory:" and Path(database).exists()


def create_reference_app(
    database: str | Path = ":memory:",
    tokens: Path | Mapping[str, str] | None = None,
    *,
    dev_tokens: bool = False,
    application_id: str = DEFAULT_APPLICATION_ID,
    validate_responses: bool = False,
    wall_clock: Callable[[], int] = wall_clock_ms,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    pool_size: int | None = None,
) -> ReferenceApp:
    """The reference server on ``database``: a SQLite file, ``:memory:``, or a
    ``postgresql://`` URL (``pool_size`` connections per process for PostgreSQL).

    ``tokens`` is a token file (JSON object, token → player id) or such a mapping; tokens stored
    in the database count as well. ``dev_tokens`` selects development mode instead, where
    ``dev-<playerId>`` stands for that player. Without any token and without ``dev_tokens``,
    or when the database is recorded in the other mode, an ``AuthModeError`` says why the server
    cannot start. ``max_body_bytes`` caps request bodies (413 beyond). ``wall_clock``
    (milliseconds since the epoch) can be replaced in tests.
    """
    # What can be refused without the database is refused before it is opened, so that a
    # refused start leaves no new, empty database file behind.
    file_tokens = load_token_file(tokens) if isinstance(tokens, Path) else tokens
    if not dev_tokens and not file_tokens and not _may_hold_tokens(database):
        raise AuthModeError(NO_TOKENS)
    store = open_store(database, pool_size=pool_size)
    try:
        resolver = TokenResolver(store, file_tokens, dev_tokens=dev_tokens)
    except BaseException:
        store.close()
        raise
    service = RoomService(store, application_id=application_id, wall_clock=wall_clock)
    # A SQLite file in WAL mode lets reads run on the event loop (readers never wait for
    # writers, and the file is local); ``:memory:`` shares one connection behind a lock, and
    # PostgreSQL answers over the network, so those keep every call off the loop.
    inline_reads = str(database) != ":memory:" and not is_postgres(database)
    # On a SQLite file every write waits for an fsync: one writer thread lets the writes that
    # arrive meanwhile share the next commit (each still acknowledged only once on disk).
    writer = GroupCommitter(store) if inline_reads and isinstance(store, SqliteStore) else None
    # PostgreSQL: every call runs on the event loop, awaiting psycopg's asynchronous connections
    # (``on_loop``); ``:memory:`` calls take a thread each.
    hand_over: HandOver | None = None
    if is_postgres(database):
        # greenlet comes with the [postgres] extra, which open_store has found installed
        from rooms_kit.reference_server.on_loop import LoopRunner  # noqa: PLC0415

        hand_over = LoopRunner()
    elif writer is None:
        hand_over = ThreadHandOver(MEMORY_THREADS, name="rooms-kit-store")
    handler: WireRoomsHandler = ReferenceRoomsHandler(
        service, inline_reads=inline_reads, writer=writer, hand_over=hand_over
    )  # typed so that mypy holds the adapter to the stub's protocol
    inner = create_app(
        handler,
        ReferenceAuthenticator(resolver, hand_over=hand_over),
        validate_responses=validate_responses,
        max_body_bytes=max_body_bytes,
    )
    return ReferenceApp(
        inner, service=service, resolver=resolver, store=store, writer=writer, hand_over=hand_over
    )

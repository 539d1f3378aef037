"""Asynchronous PostgreSQL connections for the event loop: a small pool of its own.

The server runs the room service on the event loop (``on_loop``) and lets it wait for PostgreSQL
on asynchronous connections from this pool, with no thread in between; their statements go
through libpq directly (``postgres_wire``).

The pool is deliberately plain: at most ``size`` connections (autocommit; a write transaction
sends its own BEGIN and COMMIT), opened on demand, idle ones reused last-in first-out, callers
beyond ``size`` queued first-come first-served for at most ``POOL_WAIT_SECONDS``; every statement
waits at most ``STATEMENT_SECONDS`` for PostgreSQL's answer (``answered``). A connection
that fails, or that comes back inside a transaction or mid-statement, is closed rather than
reused, and so is an idle one that PostgreSQL has ended meanwhile (a restart). Connections belong
to the event loop they were opened on; when another loop calls (tests run apps on several, one
after the other), the idle ones of the old loop are dropped.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Sequence
from typing import Any, TypeAlias, TypeVar

import psycopg

from rooms_kit.reference_server.postgres_wire import WireConnection, finish_stranded

Lent: TypeAlias = "WireConnection | None"
"""What a waiting caller is handed: a connection, or ``None`` for a free slot to open one in."""

POOL_WAIT_SECONDS = 30
"""How long a caller waits for a free connection before failing (this pool and the store's
thread-side pools alike)."""
CONNECT_TIMEOUT_SECONDS = 10
STATEMENT_SECONDS = 30.0
"""How long a statement run on the loop may wait for PostgreSQL's answer (``answered``)."""
CANCEL_SECONDS = 10.0
"""How long a wait, once cancelled by ``answered``, may take to end before it is cancelled
again. A statement of ``postgres_wire`` ends at once (its connection is given up and the server
asked, in the background, to cancel the statement); the second cancellation is for awaitables
that wait out a cancellation of their own."""

T = TypeVar("T")


class LoopPoolTimeout(RuntimeError):
    """Every connection of the pool stayed busy for ``POOL_WAIT_SECONDS``."""


class LoopStatementTimeout(RuntimeError):
    """PostgreSQL did not answer a statement within ``STATEMENT_SECONDS``."""


async def answered(awaitable: Awaitable[T]) -> T:
    """``awaitable`` (a statement on a connection), or ``LoopStatementTimeout`` once it has
    waited ``STATEMENT_SECONDS`` for PostgreSQL: a server that stops answering without closing
    the socket (stopped, swamped, cut off) would otherwise hold the request, its connection and
    its locks for as long as the server stays mute.

    The wait is then cancelled. A statement of ``postgres_wire`` ends there: the caller has
    its answer, and the pool closes the connection, left mid-statement, after asking the server
    in the background to cancel that statement. An awaitable that waits out a cancellation is
    cancelled once more after ``CANCEL_SECONDS``. Either way the caller has its answer at most
    ``STATEMENT_SECONDS`` + ``CANCEL_SECONDS`` after the statement was sent, and a connection
    left in any state but idle is closed by the pool, never reused. A cancellation from elsewhere (the server
    stopping) stays a cancellation."""
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("answered is awaited by a task")
    loop = asyncio.get_running_loop()
    outside = task.cancelling()  # cancellations already requested by others
    expired = 0  # how many times this bound has cancelled the task
    timers: list[asyncio.TimerHandle] = []

    def expire() -> None:
        nonlocal expired
        expired += 1
        task.cancel()
        if expired == 1:
            timers.append(loop.call_later(CANCEL_SECONDS, expire))

    timers.append(loop.call_later(STATEMENT_SECONDS, expire))
    try:
        return await awaitable
    except asyncio.CancelledError:
        if not expired:
            raise
        mine, expired = expired, 0
        for _ in range(mine):
            task.uncancel()
        if task.cancelling() > outside:  # cancelled from elsewhere as well
            raise
        raise LoopStatementTimeout(
            f"PostgreSQL did not answer within {STATEMENT_SECONDS:g} s (statement cancelled)"
        ) from None
    finally:
        for timer in timers:
            timer.cancel()
        for _ in range(expired):  # the bound fired, but the wait ended some other way
            task.uncancel()


class LoopConnections:
    """Up to ``size`` asynchronous connections to ``url``, for the running event loop."""

    def __init__(self, url: str, size: int, *, name: str = "rooms-kit", options: str = "") -> None:
        self._url = url
        self._name = name
        self._options = options
        self.size = max(size, 1)
        self._mine: set[WireConnection] = set()
        """The open connections of the current loop, idle or lent out."""
        self._idle: list[WireConnection] = []
        self._connecting = 0
        self._waiting: collections.deque[asyncio.Future[Lent]] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def rows(self, sql: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        """Every row ``sql`` answers (one autocommit statement, hence one snapshot)."""
        connection = await self.take()
        try:
            rows = await answered(connection.rows(sql, parameters))
        except BaseException:
            # Broken, or left mid-statement by a cancelled caller: never reuse it.
            self.drop(connection)
            raise
        self.give_back(connection)
        return rows

    async def take(self) -> WireConnection:
        self._adopt_running_loop()
        while self._idle:
            connection = self._idle.pop()
            if _still_open(connection):
                return connection
            _finish(connection)
            self._mine.discard(connection)
        if len(self._mine) + self._connecting < self.size:
            self._connecting += 1
            return await self._connect()
        lent = await self._wait_for_turn()
        # A freed place rather than a connection: reserved for this caller (counted in
        # ``_connecting`` by ``_wake_next``), so no newcomer can take it first.
        return lent if lent is not None else await self._connect()

    async def _connect(self) -> WireConnection:
        """Open a connection in a place already counted in ``_connecting``."""
        settings: dict[str, Any] = {"options": self._options} if self._options else {}
        try:
            connection = await WireConnection.connect(
                self._url,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name=self._name,
                **settings,
            )
        except BaseException:
            self._wake_next(None)  # a waiter may manage what this caller could not
            raise
        finally:
            self._connecting -= 1
        self._mine.add(connection)
        return connection

    async def _wait_for_turn(self) -> Lent:
        waiter: asyncio.Future[Lent] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(POOL_WAIT_SECONDS):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                # Handed a turn just as this caller gave up: pass it on.
                late = waiter.result()
                if late is None:
                    self._connecting -= 1  # the place reserved for this caller
                    self._wake_next(None)
                else:
                    self.give_back(late)
            else:
                waiter.cancel()  # skipped by _wake_next from now on
            if isinstance(exc, TimeoutError):
                raise LoopPoolTimeout(
                    f"no PostgreSQL connection within {POOL_WAIT_SECONDS} s (all {self.size} busy)"
                ) from None
            raise

    def give_back(self, connection: WireConnection) -> None:
        """Return a connection ``take`` lent; it is closed instead unless it is idle and well."""
        if connection not in self._mine or not connection.idle:
            self.drop(connection)  # broken, mid-transaction, or opened on a loop that is gone
        elif not self._wake_next(connection):
            self._idle.append(connection)

    def drop(self, connection: WireConnection) -> None:
        """Close a connection ``take`` lent, freeing its place for a new one."""
        _finish(connection)
        if connection in self._mine:
            self._mine.discard(connection)
            self._wake_next(None)

    def _wake_next(self, connection: Lent) -> bool:
        """Hand ``connection`` (or, with ``None``, a free place, reserved for that caller) to
        the longest waiter."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                if connection is None:
                    self._connecting += 1
                waiter.set_result(connection)
                return True
        return False

    def _adopt_running_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        # Connections and waiters of another (most likely closed) loop cannot serve this one;
        # those still lent out are closed when they come back.
        self.close()
        self._waiting.clear()
        self._connecting = 0
        self._loop = loop

    def close(self) -> None:
        """Close the idle connections (called once the server's loop has stopped), and send
        the requests to cancel that the stopped loop left unfinished (``finish_stranded``)."""
        for connection in self._idle:
            _finish(connection)
        self._idle.clear()
        self._mine.clear()
        finish_stranded()


def _still_open(connection: WireConnection) -> bool:
    """Whether an idle connection is still open at PostgreSQL's end. A server that restarted
    or ended the backend has sent a last message and closed the socket meanwhile: reading what
    is there (no round trip, never blocks) finds that out before a caller's statement would.
    The first read takes the message, the second meets the closed socket."""
    if connection.closed:
        return False
    try:
        for _ in range(2):
            connection.pgconn.consume_input()
    except psycopg.OperationalError:
        return False
    return connection.pgconn.status == psycopg.pq.ConnStatus.OK


def _finish(connection: WireConnection) -> None:
    """Close ``connection`` without awaiting anything (its loop may be gone)."""
    connection.finish()

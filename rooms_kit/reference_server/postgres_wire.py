"""Statements on an asynchronous PostgreSQL connection, sent through libpq directly.

psycopg's cursor layer costs about 0.06 ms of CPU per statement here (building the query,
adapting each parameter through its type registry, one loop registration of the socket per
wait), three times what libpq itself needs, and a request of the reference server makes one to
five statements. The server's statements are few, fixed and simple: their parameters are text,
integers, booleans, NULL and flat arrays of those, their columns text, integers and booleans. So
the connections of the event loop's pool (``postgres_loop``) send them here instead:

- each statement is prepared once per connection under a name of its own, then executed by name
  with its parameters in PostgreSQL's text format, their types inferred by the server from the
  statement, as for literals written into it (statements without parameters go as simple
  queries: BEGIN, COMMIT);
- the connection's socket is watched by the loop for as long as the connection lives: one
  registration, not one per wait. While nobody waits on it, what arrives (a notice, the server
  ending the session) is read at once, so an idle socket never keeps the loop busy;
- answers come in text format and are decoded by column type; a type outside the short list
  is refused (``WireTypeError``), never guessed;
- PostgreSQL's errors are raised as psycopg's exceptions for the same SQLSTATE, so callers see
  what psycopg would have raised.

psycopg still opens and authenticates the connection. A statement left running when its
connection is given up (``finish``) is asked to end by a cancel request that the loop drives
with callbacks, not a task, so that a loop stopping meanwhile (a server's last turns, where
asyncio cancels the tasks it finds and then closes) neither drops it nor leaves it pending;
``finish_stranded``, called once the loop has stopped, completes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import selectors
import time
from collections.abc import Sequence
from typing import Any, TypeAlias

import psycopg
from psycopg import capabilities, pq

DEFERRED_LIMIT = 64
"""Most statements ``defer`` queues before a ``rows`` call sends them (a transaction of the
server queues at most three)."""
PREPARED_LIMIT = 64
"""Most statements prepared on one connection; later ones are sent unnamed (parsed each time).
The server's statements are a fixed set well below this."""
CANCEL_SECONDS = 10.0
"""How long the request to cancel a statement left running may take before the connection is
closed without it (for all the requests ``finish_stranded`` completes together, too)."""

_TEXT_TYPES = frozenset({19, 25, 1042, 1043})  # name, text, bpchar, varchar
_INTEGER_TYPES = frozenset({20, 21, 23, 26})  # int8, int2, int4, oid
_BOOLEAN = 16
_VOID = 2278  # what pg_advisory_xact_lock returns

_PLACEHOLDER = re.compile(r"%(.)", re.DOTALL)

_cancelling: set[asyncio.Task[None]] = set()
"""Requests to cancel still on their way through psycopg (a libpq older than 17), kept so that
they are not collected midway."""
_requests: set[_CancelRequest] = set()
"""Requests to cancel still on their way, driven by their loop."""


class WireTypeError(TypeError):
    """A parameter or column of a type this module does not send or read."""


_Queued: TypeAlias = "tuple[str, list[bytes | None] | None]"
"""A statement to send and its encoded parameters (``None``: a statement without any)."""


def numbered(sql: str) -> str:
    """``sql`` with psycopg's ``%s`` placeholders as PostgreSQL's ``$1``, ``$2`` ... (``%%``
    stands for a literal ``%``); any other ``%`` sequence is refused."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(1) == "%":
            return "%"
        if match.group(1) != "s":
            raise ValueError(f"unsupported placeholder %{match.group(1)} in {sql!r}")
        count += 1
        return f"${count}"

    converted = _PLACEHOLDER.sub(replace, sql)
    if converted.endswith("%") and not sql.endswith("%%"):
        raise ValueError(f"a lone % ends {sql!r}")
    return converted


def encoded(value: object) -> bytes | None:
    """One parameter in PostgreSQL's text format (``None`` is NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: a bool is an int
        return b"t" if value else b"f"
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, str):
        return _utf8(value)
    if isinstance(value, (list, tuple)):
        return _utf8("{" + ",".join(_element(item) for item in value) + "}")
    raise WireTypeError(f"cannot send a parameter of type {type(value).__name__}")


def _utf8(text: str) -> bytes:
    """``text`` as libpq sends it. A NUL would end the parameter early without a word (libpq
    takes C strings) and a lone surrogate has no UTF-8 form: both are refused, as psycopg
    refuses them."""
    if "\0" in text:
        raise psycopg.DataError("PostgreSQL text cannot contain NUL (0x00) characters")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise psycopg.DataError(f"text that cannot be sent as UTF-8: {exc.reason}") from None


def _encoded_all(parameters: Sequence[object]) -> list[bytes | None] | None:
    return [encoded(value) for value in parameters] if parameters else None


def _element(value: object) -> str:
    """One element of an array literal: strings always quoted, so that no content (commas,
    braces, spaces, the word NULL) is read as syntax."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise WireTypeError(f"cannot send an array element of type {type(value).__name__}")


def _decoder(type_oid: int) -> Any:
    if type_oid in _TEXT_TYPES:
        return lambda raw: raw.decode("utf-8")
    if type_oid in _INTEGER_TYPES:
        return int
    if type_oid == _BOOLEAN:
        return lambda raw: raw == b"t"
    if type_oid == _VOID:
        return lambda raw: None
    raise WireTypeError(f"cannot read a column of type oid {type_oid}")


def decoded(result: pq.abc.PGresult) -> list[tuple[Any, ...]]:
    """The rows of a successful ``result``, each value decoded from the text format."""
    columns = result.nfields
    decoders = [_decoder(result.ftype(column)) for column in range(columns)]
    rows: list[tuple[Any, ...]] = []
    for row in range(result.ntuples):
        values = []
        for column, decode in enumerate(decoders):
            raw = result.get_value(row, column)
            values.append(None if raw is None else decode(raw))
        rows.append(tuple(values))
    return rows


class WireConnection:
    """An open asynchronous connection whose statements go through ``rows``.

    Made by ``connect`` on the running loop, which then watches its socket until ``finish``."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self.connection = connection
        self.pgconn = connection.pgconn
        self.pgconn.nonblocking = 1
        self._loop = asyncio.get_running_loop()
        self._socket = self.pgconn.socket
        self._names: dict[str, bytes] = {}
        """The name each statement is prepared under on this connection."""
        self._prepared = 0  # names given so far (a failed preparation's name is not reused)
        self._deferred: list[_Queued] = []
        self._broken = False
        self._waiter: asyncio.Future[None] | None = None
        self._watched = True
        self._loop.add_reader(self._socket, self._readable)

    @classmethod
    async def connect(cls, url: str, **settings: Any) -> WireConnection:
        """Open a connection (autocommit, UTF-8) with psycopg's connection ``settings``."""
        connection = await psycopg.AsyncConnection.connect(
            url, autocommit=True, client_encoding="UTF8", **settings
        )
        try:
            return cls(connection)
        except BaseException:
            connection.pgconn.finish()
            raise

    @property
    def closed(self) -> bool:
        return self._broken or self.pgconn.status != pq.ConnStatus.OK

    @property
    def transaction_status(self) -> pq.TransactionStatus:
        return pq.TransactionStatus(self.pgconn.transaction_status)

    @property
    def backend_pid(self) -> int:
        return self.pgconn.backend_pid

    @property
    def idle(self) -> bool:
        """Open, outside any transaction, with nothing running and nothing queued."""
        return (
            not self.closed
            and not self._deferred
            and self.pgconn.transaction_status == pq.TransactionStatus.IDLE
        )

    def defer(self, sql: str, parameters: Sequence[object] = ()) -> None:
        """Queue a statement whose rows nobody reads (BEGIN, a lock, an INSERT): it goes out
        with the next ``rows`` call, in the same round trip and in order before it, and a
        failure of it is raised there. Its parameters are encoded now."""
        if len(self._deferred) >= DEFERRED_LIMIT:
            raise RuntimeError(f"more than {DEFERRED_LIMIT} statements queued on one connection")
        self._deferred.append((sql, _encoded_all(parameters)))

    def discard_deferred(self) -> None:
        """Forget the queued statements (their transaction is being given up)."""
        self._deferred.clear()

    async def rows(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Every row ``sql`` answers (none for a command such as BEGIN or an INSERT), after
        the statements ``defer`` queued, all in one round trip."""
        if self.pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
            raise psycopg.OperationalError("another statement is still running on this connection")
        values = _encoded_all(parameters)
        batch, self._deferred = self._deferred, []
        batch.append((sql, values))
        try:
            sent = self._send(batch)
            return await self._read(sent)
        except psycopg.OperationalError as exc:
            # The connection is lost, or in a state no caller can use; not when PostgreSQL
            # only refused the statement (a deadlock, a lock or statement timeout: psycopg's
            # OperationalError too, with a SQLSTATE), after which it serves on as before.
            if exc.sqlstate is None or self.pgconn.status != pq.ConnStatus.OK:
                self._broken = True
            raise

    def _send(self, batch: list[_Queued]) -> list[tuple[str, bytes] | None]:
        """Send ``batch`` in pipeline mode, ended by one sync, preparing each statement with
        parameters the first time; one entry per query sent, ``(sql, name)`` for a
        preparation."""
        pgconn = self.pgconn
        sent: list[tuple[str, bytes] | None] = []
        preparing: dict[str, bytes] = {}
        try:
            pgconn.enter_pipeline_mode()
            for sql, values in batch:
                name = self._names.get(sql) or preparing.get(sql)
                if values is None:
                    pgconn.send_query_params(sql.replace("%%", "%").encode("utf-8"), None)
                elif name is None and len(self._names) + len(preparing) >= PREPARED_LIMIT:
                    pgconn.send_query_params(numbered(sql).encode("utf-8"), values)
                else:
                    if name is None:
                        self._prepared += 1
                        name = preparing[sql] = f"rooms_kit_{self._prepared}".encode("ascii")
                        pgconn.send_prepare(name, numbered(sql).encode("utf-8"))
                        sent.append((sql, name))
                    pgconn.send_query_prepared(name, values)
                sent.append(None)
            pgconn.pipeline_sync()
        except BaseException:
            self._broken = True  # part of a pipeline went out: nothing after it can be read
            raise
        return sent

    async def _read(self, sent: list[tuple[str, bytes] | None]) -> list[tuple[Any, ...]]:
        """Every result of what ``_send`` sent: the last statement's rows, or the first
        failure (a failure makes the server skip the rest, up to the sync)."""
        while self.pgconn.flush():
            await self._writable()
        answer = _Answer()
        try:
            for index, preparation in enumerate(sent):
                while (result := await self._next_result()) is not None:
                    if answer.take(result, keep=index == len(sent) - 1) and preparation:
                        self._names[preparation[0]] = preparation[1]
            synced = await self._next_result()
        except psycopg.Error:
            if answer.failure is None:
                raise
            # The session ended after an error: that error (PostgreSQL's reason, such as an
            # administrator's shutdown) says more than the closed socket that followed it.
            self._broken = True
            raise answer.failure from None
        if answer.unexpected or synced is None or synced.status != pq.ExecStatus.PIPELINE_SYNC:
            self._broken = True
            if answer.failure is not None and not answer.unexpected:
                raise answer.failure  # the connection's end, as libpq reported it
            raise psycopg.ProgrammingError(answer.unexpected or "the pipeline lost its sync")
        self.pgconn.exit_pipeline_mode()
        if answer.failure is not None:
            raise answer.failure
        return answer.rows

    async def _next_result(self) -> pq.abc.PGresult | None:
        """The next result; ``None`` ends one statement's results. What has arrived is used
        before the socket is read again: a server that answers and then ends the session (a
        restart, an idle timeout) leaves the whole answer in hand, and a read would meet the
        closed socket and fail instead."""
        while self.pgconn.is_busy():
            try:
                self.pgconn.consume_input()
            except psycopg.OperationalError as lost:
                raise self._why_lost(lost) from None
            if self.pgconn.is_busy():
                await self._readable_soon()
        return self.pgconn.get_result()

    def _why_lost(self, lost: psycopg.OperationalError) -> psycopg.Error:
        """PostgreSQL's own reason when it ended the session with an error message before
        closing the socket (an administrator, a shutdown), else libpq's report ``lost``."""
        with contextlib.suppress(psycopg.Error):
            result = self.pgconn.get_result()
            if result is not None and result.status == pq.ExecStatus.FATAL_ERROR:
                return _failure(result)
        return lost

    async def _readable_soon(self) -> None:
        waiter = self._loop.create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    async def _writable(self) -> None:
        waiter: asyncio.Future[None] = self._loop.create_future()

        def ready() -> None:
            if not waiter.done():
                waiter.set_result(None)

        self._loop.add_writer(self._socket, ready)
        try:
            await waiter
        finally:
            self._loop.remove_writer(self._socket)

    def _readable(self) -> None:
        """The socket has something to read: wake the statement waiting for it, or, with none
        waiting, take it in now (a level-triggered watch would call again at once otherwise)."""
        waiter = self._waiter
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(None)
            return
        try:
            self.pgconn.consume_input()
        except psycopg.OperationalError:
            self._unwatch()  # the server ended the session: nothing more will come

    def _unwatch(self) -> None:
        if self._watched:
            self._watched = False
            if not self._loop.is_closed():
                self._loop.remove_reader(self._socket)

    def finish(self) -> None:
        """Close the connection without awaiting anything (its loop may be gone). A statement
        still running is first asked to end, in the background and for at most
        ``CANCEL_SECONDS``, so that it stops holding its locks."""
        self._unwatch()
        running = self.pgconn.transaction_status == pq.TransactionStatus.ACTIVE
        if not running or self._loop.is_closed() or not self._loop.is_running():
            self.pgconn.finish()  # an open transaction ends with the session: rolled back
            return
        if capabilities.has_cancel_safe():
            _CancelRequest(self.connection, self._loop)
            return
        task = self._loop.create_task(self._cancel_then_finish())
        _cancelling.add(task)
        task.add_done_callback(_cancelling.discard)

    async def _cancel_then_finish(self) -> None:
        try:
            await self.connection.cancel_safe(timeout=CANCEL_SECONDS)
        except (psycopg.Error, OSError):
            pass  # the server is unreachable or the statement ended: close all the same
        finally:
            self.pgconn.finish()


class _CancelRequest:
    """Asks PostgreSQL to cancel the statement running on ``connection``, then closes it:
    libpq's non-blocking cancel request, stepped by callbacks on its socket and ended after
    ``CANCEL_SECONDS`` at most. No task is involved, so the end of a loop cannot cancel it
    halfway (the connection would be closed with its statement still running, holding its
    locks) nor leave it pending; ``finish_stranded`` completes it once the loop has stopped."""

    def __init__(
        self, connection: psycopg.AsyncConnection[Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.loop = loop
        self._connection = connection  # held, so that psycopg sees it closed when collected
        self._watched: tuple[int, int] | None = None
        self._request: pq.abc.PGcancelConn | None = None
        self._timer = loop.call_later(CANCEL_SECONDS, self.end)
        _requests.add(self)
        try:
            self._request = connection.pgconn.cancel_conn()
            self._request.start()
        except psycopg.Error:
            self.end()
            return
        self._step()

    def _next_wait(self) -> int | None:
        """What the request waits for next (``READING`` or ``WRITING``); ``None``: it is over,
        sent or failed (the server unreachable, say: the connection is closed all the same)."""
        if self._request is None:
            return None
        try:
            status = self._request.poll()
        except psycopg.Error:
            return None
        reading, writing = pq.PollingStatus.READING, pq.PollingStatus.WRITING
        return status if status in (reading, writing) else None

    def _step(self) -> None:
        self._unwatch()
        wait = self._next_wait()
        if wait is None or self._request is None:
            self.end()
            return
        socket = self._request.socket
        if wait == pq.PollingStatus.READING:
            self.loop.add_reader(socket, self._step)
        else:
            self.loop.add_writer(socket, self._step)
        self._watched = (socket, wait)

    def _unwatch(self) -> None:
        if self._watched is not None and not self.loop.is_closed():
            socket, wait = self._watched
            if wait == pq.PollingStatus.READING:
                self.loop.remove_reader(socket)
            else:
                self.loop.remove_writer(socket)
        self._watched = None

    def complete(self, deadline: float) -> None:
        """Carry the request on without the loop (stopped), waiting until ``deadline`` (a
        ``time.monotonic`` time) at most, then end it."""
        self._unwatch()
        while (wait := self._next_wait()) is not None and self._request is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # a selector, not select.select, which refuses descriptors past 1023
            with selectors.DefaultSelector() as selector:
                reading = wait == pq.PollingStatus.READING
                selector.register(
                    self._request.socket,
                    selectors.EVENT_READ if reading else selectors.EVENT_WRITE,
                )
                selector.select(remaining)
        self.end()

    def end(self) -> None:
        """Stop waiting for the request and close the connection (done, failed or late)."""
        self._unwatch()
        self._timer.cancel()
        if self._request is not None:
            self._request.finish()
            self._request = None
        self._connection.pgconn.finish()
        _requests.discard(self)


def finish_stranded() -> None:
    """Complete the requests to cancel whose loop has stopped before they ended (a server's
    last requests, given up as it stopped): each is sent, and its connection closed, within
    ``CANCEL_SECONDS`` for all of them together. For code that runs once the loop is over."""
    deadline = time.monotonic() + CANCEL_SECONDS
    for request in [request for request in _requests if not request.loop.is_running()]:
        request.complete(deadline)


class _Answer:
    """What the results of one pipeline come to."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.failure: Exception | None = None
        self.unexpected = ""

    def take(self, result: pq.abc.PGresult, *, keep: bool) -> bool:
        """Note one result (its rows when ``keep``); whether it was a success."""
        status = result.status
        if status == pq.ExecStatus.TUPLES_OK:
            if keep and self.failure is None:
                try:
                    self.rows = decoded(result)
                except WireTypeError as exc:
                    self.failure = exc
            return True
        if status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY):
            return True
        if status == pq.ExecStatus.FATAL_ERROR:
            self.failure = self.failure or _failure(result)
        elif status != pq.ExecStatus.PIPELINE_ABORTED:  # skipped after a failure: expected
            # COPY and the like: none of the server's statements
            self.unexpected = f"unexpected answer ({pq.ExecStatus(status).name})"
        return False


def _failure(result: pq.abc.PGresult) -> psycopg.Error:
    """PostgreSQL's error in ``result`` as psycopg's exception for its SQLSTATE. A result
    without one is libpq's own account of a lost connection (the socket closed with no word
    from the server): ``OperationalError``, as psycopg raises for it, where the lookup by
    SQLSTATE would give a bare ``DatabaseError`` that no handler of lost connections catches."""
    if not result.error_field(pq.DiagnosticField.SQLSTATE):
        return psycopg.OperationalError(pq.error_message(result, encoding="utf-8"))
    return psycopg.errors.error_from_result(result, encoding="utf-8")

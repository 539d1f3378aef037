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

psycopg still opens and authenticates the connection, and asks the server to cancel a
statement left running when its connection is given up (``finish``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import pq

PREPARED_LIMIT = 64
"""Most statements prepared on one connection; later ones are sent unnamed (parsed each time).
The server's statements are a fixed set well below this."""
CANCEL_SECONDS = 10.0
"""How long the request to cancel a statement left running may take before the connection is
closed without it."""

_TEXT_TYPES = frozenset({19, 25, 1042, 1043})  # name, text, bpchar, varchar
_INTEGER_TYPES = frozenset({20, 21, 23, 26})  # int8, int2, int4, oid
_BOOLEAN = 16
_VOID = 2278  # what pg_advisory_xact_lock returns

_PLACEHOLDER = re.compile(r"%(.)", re.DOTALL)

_cancelling: set[asyncio.Task[None]] = set()
"""Requests to cancel still on their way (kept so that they are not collected midway)."""


class WireTypeError(TypeError):
    """A parameter or column of a type this module does not send or read."""


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
        return value.encode("utf-8")
    if isinstance(value, (list, tuple)):
        return ("{" + ",".join(_element(item) for item in value) + "}").encode("utf-8")
    raise WireTypeError(f"cannot send a parameter of type {type(value).__name__}")


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
        return self.pgconn.status != pq.ConnStatus.OK

    @property
    def transaction_status(self) -> pq.TransactionStatus:
        return pq.TransactionStatus(self.pgconn.transaction_status)

    @property
    def backend_pid(self) -> int:
        return self.pgconn.backend_pid

    async def rows(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Every row ``sql`` answers (none for a command such as BEGIN or an INSERT)."""
        if self.transaction_status == pq.TransactionStatus.ACTIVE:
            raise psycopg.OperationalError("another statement is still running on this connection")
        if parameters:
            name = self._names.get(sql)
            values = [encoded(value) for value in parameters]
            if name is None and len(self._names) < PREPARED_LIMIT:
                name = f"rooms_kit_{len(self._names) + 1}".encode("ascii")
                self.pgconn.send_prepare(name, numbered(sql).encode("utf-8"))
                await self._result()
                self._names[sql] = name
            if name is None:
                self.pgconn.send_query_params(numbered(sql).encode("utf-8"), values)
            else:
                self.pgconn.send_query_prepared(name, values)
        else:
            self.pgconn.send_query(sql.replace("%%", "%").encode("utf-8"))
        return await self._result()

    async def _result(self) -> list[tuple[Any, ...]]:
        """Flush what was sent, then read every result of it; the last one's rows."""
        while self.pgconn.flush():
            await self._writable()
        rows: list[tuple[Any, ...]] = []
        failure: Exception | None = None  # the first; the results after it are still read
        while True:
            self.pgconn.consume_input()
            if self.pgconn.is_busy():
                await self._readable_soon()
                continue
            result = self.pgconn.get_result()
            if result is None:
                break
            status = result.status
            if failure is not None:
                continue
            if status == pq.ExecStatus.TUPLES_OK:
                try:
                    rows = decoded(result)
                except WireTypeError as exc:
                    failure = exc
            elif status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY):
                rows = []
            elif status == pq.ExecStatus.FATAL_ERROR:
                failure = _failure(result)
            else:  # COPY and the like: none of the server's statements; the pool drops it
                raise psycopg.ProgrammingError(f"unexpected answer ({pq.ExecStatus(status).name})")
        if failure is not None:
            raise failure
        return rows

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


def _failure(result: pq.abc.PGresult) -> psycopg.Error:
    """PostgreSQL's error in ``result`` as psycopg's exception for its SQLSTATE."""
    return psycopg.errors.error_from_result(result, encoding="utf-8")

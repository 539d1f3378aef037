"""Statements sent through libpq directly (``postgres_wire``): parameters and columns survive the
text format exactly, PostgreSQL's errors arrive as psycopg's exceptions, a connection is usable
after every kind of failure, an idle socket does not keep the loop busy, and a statement left
running is cancelled at the server."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest

from rooms_kit.reference_server import postgres_loop, postgres_wire
from rooms_kit.reference_server.postgres_loop import LoopConnections, LoopStatementTimeout
from rooms_kit.reference_server.postgres_wire import (
    WireConnection,
    WireTypeError,
    encoded,
    numbered,
)
from tests.reference_server.postgres_cluster import Cluster
from tests.reference_server.support import active_statements, empty_postgres_database

HANG_SECONDS = 60
"""Only a guard against a hang, never a measurement."""

HOSTILE_TEXTS = [
    "",
    "plain",
    'a "quoted" word',
    "back\\slash and \\\\ two",
    "{braces},commas,}{",
    "NULL",
    "null",
    " leading and trailing spaces ",
    "tab\tnew\nline\rreturn",
    "ünïcödé ☃ 𝄞 and 中文",
    "'single' quotes; DROP TABLE rooms; --",
    "$1 %s %% %(name)s",
    "\x01\x1f control",
    "x" * 20_000,
]
"""Texts PostgreSQL can hold (not NUL, which the store escapes before it gets here)."""


@pytest.fixture(scope="module")
def url(postgres: Cluster) -> str:
    return empty_postgres_database(postgres, "wire")


def _on_connection(url: str, use: Callable[[WireConnection], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with asyncio.timeout(HANG_SECONDS):
            connection = await WireConnection.connect(url, application_name="rooms-kit wire")
            try:
                return await use(connection)
            finally:
                connection.finish()

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", "SELECT 1"),
        ("SELECT %s, %s", "SELECT $1, $2"),
        ("SELECT %s LIKE 'a%%'", "SELECT $1 LIKE 'a%'"),
        ("WITH a AS (SELECT %s) SELECT %s::text[]", "WITH a AS (SELECT $1) SELECT $2::text[]"),
    ],
)
def test_placeholders_become_numbered(sql: str, expected: str) -> None:
    assert numbered(sql) == expected


@pytest.mark.parametrize("sql", ["SELECT %(name)s", "SELECT %d", "SELECT 5 %"])
def test_other_placeholders_are_refused(sql: str) -> None:
    with pytest.raises(ValueError, match="%"):
        numbered(sql)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (None, None),
        (True, b"t"),
        (False, b"f"),
        (0, b"0"),
        (-(2**63), b"-9223372036854775808"),
        ("é", "é".encode()),
        ([], b"{}"),
        (["a", 'b"', "c\\"], b'{"a","b\\"","c\\\\"}'),
        ([True, False, None], b"{t,f,NULL}"),
    ],
)
def test_parameters_in_text_format(value: object, wire: bytes | None) -> None:
    assert encoded(value) == wire


@pytest.mark.parametrize("value", [1.5, b"bytes", {"a": 1}, [1.5], [["nested"]]])
def test_parameters_of_other_types_are_refused(value: object) -> None:
    with pytest.raises(WireTypeError, match="cannot send"):
        encoded(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a\0b", "cannot contain NUL"),  # libpq would cut the parameter short at the NUL
        (["ok", "a\0b"], "cannot contain NUL"),
        ("lone \ud800 surrogate", "cannot be sent as UTF-8"),
        (["lone \udfff"], "cannot be sent as UTF-8"),
    ],
)
def test_text_postgresql_cannot_take_is_refused_not_cut(value: object, reason: str) -> None:
    with pytest.raises(psycopg.DataError, match=reason):
        encoded(value)


def test_hostile_texts_survive_as_parameters_and_as_array_elements(url: str) -> None:
    async def use(connection: WireConnection) -> tuple[list[Any], list[Any]]:
        singles = [
            (await connection.rows("SELECT %s::text", (text,)))[0][0] for text in HOSTILE_TEXTS
        ]
        elements = await connection.rows(
            "SELECT x FROM unnest(%s::text[]) WITH ORDINALITY AS t (x, n) ORDER BY n",
            (HOSTILE_TEXTS,),
        )
        return singles, [x for (x,) in elements]

    singles, elements = _on_connection(url, use)
    assert singles == HOSTILE_TEXTS
    assert elements == HOSTILE_TEXTS


def test_columns_come_back_with_their_types(url: str) -> None:
    async def use(connection: WireConnection) -> list[tuple[Any, ...]]:
        return await connection.rows(
            "SELECT %s::bigint, %s::int, 7::smallint, %s::boolean, false, NULL::text,"
            " 'x'::varchar, pg_advisory_xact_lock(1)",
            (2**63 - 1, -5, True),
        )

    assert _on_connection(url, use) == [(2**63 - 1, -5, 7, True, False, None, "x", None)]


def test_inferred_parameter_types_serve_the_stores_comparisons(url: str) -> None:
    """Parameters go untyped, so the server infers each from where it stands."""

    async def use(connection: WireConnection) -> list[tuple[Any, ...]]:
        return await connection.rows(
            "SELECT (2::bigint, 'b') > (%s, %s), %s::int IS NOT DISTINCT FROM %s, 1 LIMIT %s",
            (1, "a", None, None, 5),
        )

    assert _on_connection(url, use) == [(True, True, 1)]


def test_each_failure_is_raised_and_the_connection_serves_on(url: str) -> None:
    """The catalogue of what a statement can run into; after each, the connection answers
    the next statement and is outside any transaction."""

    async def use(connection: WireConnection) -> list[tuple[str, str]]:
        await connection.rows("CREATE TEMPORARY TABLE once (key text PRIMARY KEY)")
        await connection.rows("INSERT INTO once VALUES (%s)", ("taken",))
        cases: list[tuple[str, tuple[object, ...]]] = [
            ("INSERT INTO once VALUES (%s)", ("taken",)),  # unique violation
            ("SELEC %s", (1,)),  # syntax error, at prepare
            ("SELECT no_such_column FROM once WHERE key = %s", ("k",)),
            ("SELECT 1 / %s", (0,)),  # division by zero, at execute
            ("SELECT %s::int", ("not a number",)),
            ("SELECT 1.5::float8 WHERE %s", (True,)),  # a column type not read here
            ("SELECT %s", ([1.5],)),  # a parameter type not sent
        ]
        seen: list[tuple[str, str]] = []
        for sql, parameters in cases:
            with pytest.raises((psycopg.Error, WireTypeError)) as raised:
                await connection.rows(sql, parameters)
            after = await connection.rows("SELECT %s::text", ("still here",))
            assert after == [("still here",)]
            assert connection.transaction_status == psycopg.pq.TransactionStatus.IDLE
            seen.append((type(raised.value).__name__, sql))
        return seen

    assert [name for name, _ in _on_connection(url, use)] == [
        "UniqueViolation",
        "SyntaxError",
        "UndefinedColumn",
        "DivisionByZero",
        "InvalidTextRepresentation",
        "WireTypeError",
        "WireTypeError",
    ]


def test_a_failed_statement_in_a_transaction_leaves_it_failed_until_rolled_back(url: str) -> None:
    async def use(connection: WireConnection) -> tuple[str, str]:
        await connection.rows("BEGIN")
        with pytest.raises(psycopg.errors.DivisionByZero):
            await connection.rows("SELECT 1 / %s", (0,))
        failed = connection.transaction_status.name
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            await connection.rows("SELECT %s::int", (1,))
        await connection.rows("ROLLBACK")
        return failed, connection.transaction_status.name

    assert _on_connection(url, use) == ("INERROR", "IDLE")


def test_each_statement_is_prepared_once_per_connection(url: str) -> None:
    async def use(connection: WireConnection) -> tuple[int, int]:
        for number in range(5):
            await connection.rows("SELECT %s::int", (number,))
        await connection.rows("SELECT %s::text", ("other",))
        rows = await connection.rows(
            "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE %s", ("rooms_kit_%",)
        )
        return rows[0][0], len(connection._names)

    assert _on_connection(url, use) == (3, 3)


def test_statements_beyond_the_prepared_limit_are_sent_unnamed(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_wire, "PREPARED_LIMIT", 2)

    async def use(connection: WireConnection) -> tuple[list[Any], int]:
        answers = [
            (await connection.rows(f"SELECT %s::int + {offset}", (1,)))[0][0] for offset in range(5)
        ]
        return answers, len(connection._names)

    assert _on_connection(url, use) == ([1, 2, 3, 4, 5], 2)


def test_an_idle_connection_the_server_ended_does_not_keep_the_loop_busy(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket stays watched while idle; once the server closes it, the watch reads the end
    once and lets go, rather than being woken on every turn of the loop."""
    wakes: list[float] = []
    readable = WireConnection._readable

    def counted(self: WireConnection) -> None:
        wakes.append(time.monotonic())
        readable(self)

    monkeypatch.setattr(WireConnection, "_readable", counted)

    async def use(connection: WireConnection) -> tuple[bool, bool]:
        pid = connection.backend_pid
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s, %s)", (pid, HANG_SECONDS * 1000))
        await asyncio.sleep(0.5)  # hundreds of thousands of turns if the watch spun
        return connection.closed, postgres_loop._still_open(connection)

    closed, still_open = _on_connection(url, use)
    assert (closed, still_open) == (True, False)
    assert 1 <= len(wakes) <= 3


def test_a_statement_given_up_is_cancelled_at_the_server(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the statement bound fires, the connection is closed and its statement asked to end,
    so that it does not go on holding what it holds (here, PostgreSQL's own sleep)."""
    monkeypatch.setattr(postgres_loop, "STATEMENT_SECONDS", 0.3)
    pool = LoopConnections(url, 1, name="rooms-kit given up")

    async def main() -> list[int]:
        async with asyncio.timeout(HANG_SECONDS):
            with pytest.raises(LoopStatementTimeout):
                await pool.rows("SELECT pg_sleep(%s)", (HANG_SECONDS,))
            counts = [active_statements(url, "rooms-kit given up")]
            while counts[-1] and len(counts) < 100:  # the cancel runs in the background
                await asyncio.sleep(0.1)
                counts.append(active_statements(url, "rooms-kit given up"))
            return counts

    try:
        counts = asyncio.run(main())
    finally:
        pool.close()
    assert counts[-1] == 0, counts


def test_deferred_statements_go_out_in_order_before_the_next_one(url: str) -> None:
    async def use(connection: WireConnection) -> tuple[bool, list[tuple[Any, ...]], bool]:
        await connection.rows("CREATE TEMPORARY TABLE queued (n int, word text)")
        connection.defer("BEGIN")
        connection.defer("INSERT INTO queued VALUES (%s, %s)", (1, "first"))
        connection.defer("INSERT INTO queued VALUES (%s, %s)", (2, 'sec"ond'))
        waiting = connection.idle  # nothing sent yet, but something queued
        rows = await connection.rows("SELECT n, word FROM queued ORDER BY n")
        await connection.rows("COMMIT")
        return waiting, rows, connection.idle

    waiting, rows, idle = _on_connection(url, use)
    assert (waiting, rows, idle) == (False, [(1, "first"), (2, 'sec"ond')], True)


def test_a_deferred_failure_is_raised_by_the_next_statement_which_is_skipped(url: str) -> None:
    async def use(connection: WireConnection) -> tuple[str, list[tuple[Any, ...]], str]:
        await connection.rows("CREATE TEMPORARY TABLE keys (key text PRIMARY KEY)")
        await connection.rows("INSERT INTO keys VALUES (%s)", ("taken",))
        connection.defer("BEGIN")
        connection.defer("INSERT INTO keys VALUES (%s)", ("taken",))
        with pytest.raises(psycopg.errors.UniqueViolation):
            await connection.rows("INSERT INTO keys VALUES (%s)", ("skipped",))
        inside = connection.transaction_status.name
        await connection.rows("ROLLBACK")
        return (
            inside,
            await connection.rows("SELECT key FROM keys ORDER BY key"),
            (connection.transaction_status.name),
        )

    assert _on_connection(url, use) == ("INERROR", [("taken",)], "IDLE")


def test_discarded_statements_are_never_sent(url: str) -> None:
    async def use(connection: WireConnection) -> list[tuple[Any, ...]]:
        await connection.rows("CREATE TEMPORARY TABLE kept (n int)")
        connection.defer("INSERT INTO kept VALUES (%s)", (1,))
        connection.discard_deferred()
        assert connection.idle
        return await connection.rows("SELECT count(*) FROM kept")

    assert _on_connection(url, use) == [(0,)]


def test_the_queue_of_deferred_statements_is_bounded(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_wire, "DEFERRED_LIMIT", 3)

    async def use(connection: WireConnection) -> list[tuple[Any, ...]]:
        for number in range(3):
            connection.defer("SELECT %s::int", (number,))
        with pytest.raises(RuntimeError, match="more than 3 statements queued"):
            connection.defer("SELECT 4")
        return await connection.rows("SELECT %s::int", (5,))

    assert _on_connection(url, use) == [(5,)]


def test_a_preparation_skipped_after_a_failure_is_prepared_again(url: str) -> None:
    """A statement new to the connection goes out with its preparation; when an earlier
    statement of the same round trip fails, the server skips both, and the next use prepares
    it again rather than executing a name that does not exist."""

    async def use(connection: WireConnection) -> list[tuple[Any, ...]]:
        connection.defer("SELECT 1 / %s", (0,))
        with pytest.raises(psycopg.errors.DivisionByZero):
            await connection.rows("SELECT %s::text || 'x'", ("a",))
        return await connection.rows("SELECT %s::text || 'x'", ("b",))

    assert _on_connection(url, use) == [("bx",)]


def test_a_statement_given_up_as_its_loop_ends_is_still_cancelled_and_closed(url: str) -> None:
    """The end of ``asyncio.run`` (a server's, once it stops) cancels the tasks still running,
    then closes the loop: a request's statement given up there is asked to end all the same,
    and its connection closed, by the time the pool is closed after the loop (the app's
    close). A task doing that was cancelled before it could, or created too late to be run at
    all: the statement ran on, holding what it held, on a connection never closed."""
    name = "rooms-kit stranded"
    pool = LoopConnections(url, 1, name=name)
    lent: list[WireConnection] = []
    left: list[asyncio.Task[Any]] = []

    async def main() -> None:
        left.append(asyncio.create_task(pool.rows("SELECT pg_sleep(%s)", (HANG_SECONDS,))))
        for _ in range(HANG_SECONDS * 10):
            await asyncio.sleep(0.1)
            if active_statements(url, name):
                break
        lent.extend(pool._mine)
        # returns with the statement running: asyncio.run cancels its task

    asyncio.run(main())
    pool.close()
    counts = [active_statements(url, name)]
    while counts[-1] and len(counts) < 100:  # the server ends a cancelled statement at once
        time.sleep(0.1)
        counts.append(active_statements(url, name))
    assert left[0].cancelled()
    assert (len(lent), counts[-1]) == (1, 0), counts
    assert lent[0].closed
    assert not [r for r in postgres_wire._requests if r._connection is lent[0].connection]
    # The pool serves on, on a loop of its own.
    assert asyncio.run(pool.rows("SELECT %s::int", (7,))) == [(7,)]
    pool.close()


def test_a_statement_refused_for_a_timeout_keeps_its_connection_in_the_pool(url: str) -> None:
    """A lock or statement timeout (or a deadlock) comes as psycopg's OperationalError with
    PostgreSQL's SQLSTATE, on a connection that is fine: a transaction rolled back after it
    gives its connection back to the pool (``_transaction_on_loop``). It was closed as if
    lost, so that contention made every such refusal cost a new connection."""
    pool = LoopConnections(url, 1, name="rooms-kit refused")
    key = 7_000_001

    async def refused_in_a_transaction(sql: str, parameters: tuple[object, ...]) -> str:
        connection = await pool.take()
        try:
            connection.defer("BEGIN")
            connection.defer("SET LOCAL lock_timeout = 50")
            connection.defer("SET LOCAL statement_timeout = 100")
            with pytest.raises(psycopg.OperationalError) as raised:
                await connection.rows(sql, parameters)
            await connection.rows("ROLLBACK")
        finally:
            pool.give_back(connection)
        return type(raised.value).__name__

    async def main() -> tuple[int, list[str], int]:
        async with asyncio.timeout(HANG_SECONDS):
            before = (await pool.rows("SELECT pg_backend_pid()", ()))[0][0]
            with psycopg.connect(url, autocommit=True) as other:
                other.execute("SELECT pg_advisory_lock(%s)", (key,))
                refused = [await refused_in_a_transaction("SELECT pg_advisory_lock(%s)", (key,))]
            refused.append(await refused_in_a_transaction("SELECT pg_sleep(%s)", (HANG_SECONDS,)))
            after = (await pool.rows("SELECT pg_backend_pid()", ()))[0][0]
            return before, refused, after

    try:
        before, refused, after = asyncio.run(main())
    finally:
        pool.close()
    assert refused == ["LockNotAvailable", "QueryCanceled"]
    assert after == before


def test_an_answer_followed_by_the_end_of_the_session_is_not_lost(url: str) -> None:
    """PostgreSQL answers a COMMIT, then ends the session (here its idle timeout; a restart or
    a terminated backend alike) before the loop gets to read: the answer is in hand, and the
    write is reported done, not failed ('server closed the connection unexpectedly', raised
    by reading the socket again before taking the results already read)."""

    async def use(connection: WireConnection) -> list[tuple[Any, ...]]:
        await connection.rows("CREATE TABLE IF NOT EXISTS answered_then_ended (n int)")
        await connection.rows("TRUNCATE answered_then_ended")
        await connection.rows("SET idle_session_timeout = 50")
        connection.defer("BEGIN")
        connection.defer("INSERT INTO answered_then_ended VALUES (%s)", (1,))
        commit = asyncio.ensure_future(connection.rows("COMMIT"))
        await asyncio.sleep(0)  # sent; the answer comes, then the session ends 50 ms later
        time.sleep(0.5)  # the loop busy meanwhile
        return await commit

    assert _on_connection(url, use) == []
    with psycopg.connect(url, autocommit=True) as other:
        assert other.execute("SELECT n FROM answered_then_ended").fetchall() == [(1,)]


@pytest.mark.parametrize("queued", [0, 2])
def test_a_session_ended_mid_statement_reports_postgresql_s_reason(url: str, queued: int) -> None:
    """The backend ends the session while answering (an administrator, a restart): the caller
    gets PostgreSQL's own error, not a complaint about the pipeline, and the connection counts
    as closed, so that no pool lends it again."""

    async def use(connection: WireConnection) -> tuple[str, bool]:
        for number in range(queued):
            connection.defer("SELECT %s::int", (number,))
        with pytest.raises(psycopg.OperationalError) as raised:
            await connection.rows("SELECT pg_terminate_backend(pg_backend_pid())")
        return type(raised.value).__name__, connection.closed

    name, closed = _on_connection(url, use)
    assert (name, closed) == ("AdminShutdown", True)


def test_a_socket_lost_mid_statement_is_an_operational_error(url: str) -> None:
    """The socket ends under a statement with no word from PostgreSQL (a network cut, a backend
    killed): the caller gets psycopg's OperationalError for a lost connection, whose handlers
    treat it as such, not the bare DatabaseError that libpq's error result without a SQLSTATE
    turns into; and the connection counts as closed."""

    async def use(connection: WireConnection) -> tuple[type[psycopg.Error], str | None, bool]:
        pid = connection.backend_pid
        cut = socket.socket(fileno=os.dup(connection.pgconn.socket))
        asyncio.get_running_loop().call_later(0.2, cut.shutdown, socket.SHUT_RDWR)
        try:
            with pytest.raises(psycopg.Error) as raised:
                await connection.rows("SELECT pg_sleep(5)")
        finally:
            cut.close()
            # The backend did not see the cut and sleeps on: end it, so that no later test
            # counts its connection.
            with psycopg.connect(url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s, %s)", (pid, HANG_SECONDS * 1000))
        return type(raised.value), raised.value.sqlstate, connection.closed

    kind, sqlstate, closed = _on_connection(url, use)
    assert issubclass(kind, psycopg.OperationalError), kind
    assert (sqlstate, closed) == (None, True)

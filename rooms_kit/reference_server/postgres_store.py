"""The PostgreSQL implementation of ``Store``: many processes and hosts on one database.

Every request is one transaction on a pooled connection (psycopg 3, ``psycopg_pool``). Writers run
at READ COMMITTED and take exactly the locks their read-modify-write needs (ARCHITECTURE.md,
"PostgreSQL: locks instead of one writer"):

- a room read for writing is locked (``SELECT ... FOR UPDATE``), so two changes of one room
  never interleave while changes of different rooms run side by side;
- a create carrying a ``requestId`` first takes a transaction advisory lock named after
  (application, player, requestId): a parallel retry waits for the first attempt to commit and
  then finds its room, and the primary key of ``create_requests`` backs that up;
- auto-matching takes a transaction advisory lock named after (application, variant), so
  matchers of one pool queue one behind the other (like SQLite's single writer, and with the
  same outcome: newcomers fill the oldest waiting room first, and a room is never over-filled),
  while other pools, invitations and moves in rooms do not wait for them;
- the server-wide modification clock lives in a one-row table that is advanced in its own tiny
  autocommit transaction with ``synchronous_commit = off``. Its row lock is held for one
  statement, not for a whole request. A clock value becomes durable no later than the first
  (synchronously committed) write that uses it, because the log is flushed in order.

Reads never wait for writers. Every read the service makes is a single statement, and a single
statement in autocommit mode is a transaction of its own that sees one snapshot, so a read runs
as exactly that: one round trip instead of three (BEGIN, the SELECT, COMMIT), with the same
isolation a REPEATABLE READ transaction gave it. A read transaction refuses a second statement
(``StoreError``) rather than silently giving it a later snapshot.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from rooms_kit.reference_server import postgres_schema
from rooms_kit.reference_server.on_loop import inside, wait_for
from rooms_kit.reference_server.postgres_loop import (
    CONNECT_TIMEOUT_SECONDS,
    POOL_WAIT_SECONDS,
    LoopConnections,
    answered,
)
from rooms_kit.reference_server.postgres_watch import StatementWatch
from rooms_kit.reference_server.sqlite_store import StoreError
from rooms_kit.reference_server.state import INVITED, ROOM_DELETED, RoomState
from rooms_kit.reference_server.storage import ListPosition, token_batches

POOL_SIZE = 10
"""Connections per process; a worker process rarely needs more than its busy threads."""
CLOCK_OPTIONS = "-c synchronous_commit=off"

AUTH_MODE_KEY = "auth_mode"

_OPEN_TRANSACTION = (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR)

ROOM_SQL = "SELECT document FROM rooms WHERE room_id = %s"
INVITATIONS_SQL = (
    "SELECT r.document FROM memberships AS m JOIN rooms AS r ON r.room_id = m.room_id"
    " WHERE m.application_id = %s AND m.player_id = %s AND m.listed"
    " AND (m.created_ms, m.room_id) > (%s, %s)"
    " ORDER BY m.created_ms, m.room_id LIMIT %s"
)
TOKEN_SQL = "SELECT player_id FROM tokens WHERE digest = %s"
SAVE_ROOM_SQL = (
    "WITH saved AS ("
    " INSERT INTO rooms (room_id, application_id, variant, created_ms, free_slots, document)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (room_id) DO UPDATE SET"
    " free_slots = excluded.free_slots, document = excluded.document)"
    " INSERT INTO memberships (player_id, room_id, application_id, created_ms, listed)"
    " SELECT player_id, %s, %s, %s, listed"
    " FROM unnest(%s::text[], %s::boolean[]) AS m (player_id, listed)"
    " ON CONFLICT (player_id, room_id) DO UPDATE SET listed = excluded.listed"
)
RECOVERY_SQL = "SELECT pg_is_in_recovery()"
HEALTH_SQL = "SELECT pg_is_in_recovery(), EXISTS (SELECT FROM tokens)"
"""The health check's question: standby or not, asked through a table of the layout, so that a
database without it (recreated empty, or another one behind the address) fails the check."""
TICK_SQL = "UPDATE clock SET value = greatest(value + 1, %s) RETURNING value"


def _lock_key(*parts: object) -> int:
    """A signed 64-bit advisory lock key for the given name parts (collisions only make two
    unrelated requests wait for each other, never mix them up)."""
    name = "\0".join(str(part) for part in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)


def _text(value: str) -> str:
    """``value`` as a PostgreSQL text key. PostgreSQL text cannot hold NUL, which SQLite (and the
    wire) allow, so NUL and the escape character are escaped, injectively. Real ids (generated
    room ids, player ids of letters, digits, '.', '_' and '-') never contain either and are
    stored as they are; only hostile input is changed, consistently on write and on look-up."""
    if "\0" not in value and "\\" not in value:
        return value
    return value.replace("\\", "\\\\").replace("\0", "\\0")


def scrubbed(message: str, url: str) -> str:
    """A message of libpq or psycopg about ``url`` without the address's password: an address
    libpq cannot read gets a message of its own, since libpq quotes the part it stumbled on."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except (psycopg.ProgrammingError, UnicodeError, ValueError):
        return "the address cannot be read as a postgresql:// URI"
    message = message.replace(url, redact(url))
    password = str(info.get("password") or "")
    return message.replace(password, "***") if password else message


_SHOWN_USER = re.compile(r"[A-Za-z0-9._-]{1,63}")


def redact(url: str) -> str:
    """``url`` fit for logs and error messages: the user name (when plain), then only what
    follows the last ``@`` up to any query. Taken apart as text, not by libpq: a password with
    an unescaped ``/`` or ``@`` makes libpq read part of it as the host or database name, and
    an address rebuilt from that would show it."""
    rest = url.split("://", 1)[-1]
    at = rest.rfind("@")
    user = ""
    if at >= 0:
        name = rest[:at].split(":", 1)[0]
        user = f"{name}@" if _SHOWN_USER.fullmatch(name) else ""
        rest = rest[at + 1 :]
    where = rest.split("?", 1)[0].split("#", 1)[0]
    authority, slash, database = where.partition("/")
    host, colon, port = authority.rpartition(":") if "]" not in authority[-1:] else ("", "", "")
    if colon and host and not port.isdigit():  # user:password without "@host": libpq's port
        authority = host
    return f"postgresql://{user}{authority}{slash}{database}"


class Rows(Protocol):
    """What a statement gives back: a psycopg cursor, or the rows fetched on the loop."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


Statement = Callable[[str, Sequence[object]], Rows]


class PostgresTransaction:
    """``Transaction`` on one pooled connection: inside an open transaction when writing; a
    single autocommit statement when reading."""

    def __init__(
        self,
        run: Statement,
        store: PostgresStore,
        write: bool,
        *,
        later: Callable[[str, Sequence[object]], None] | None = None,
    ):
        self._run = run
        self._store = store
        self._write = write
        self._statements = 0
        self._later = later
        """Queues a statement whose rows nobody reads, sent with the next one (on the loop)."""

    def _execute_later(self, sql: str, parameters: Sequence[object]) -> None:
        """``sql`` whose rows are not read: queued where the connection can (a failure is then
        raised by the next statement or the commit), run at once elsewhere."""
        if self._later is None:
            self.execute(sql, parameters)
        else:
            self._later(sql, parameters)

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> Rows:
        if not self._write:
            self._statements += 1
            if self._statements > 1:
                raise StoreError(
                    "a PostgreSQL read is one statement (its own snapshot); a second one would "
                    "see a later snapshot: use a write transaction or a single statement"
                )
        return self._run(sql, parameters)

    def tick(self, wall_ms: int) -> int:
        return self._store.tick(wall_ms)

    def load_room(self, room_id: str) -> RoomState | None:
        lock = " FOR UPDATE" if self._write else ""
        row = self.execute(ROOM_SQL + lock, (_text(room_id),)).fetchone()
        return _room(row[0]) if row else None

    def save_room(self, room: RoomState) -> None:
        # One statement for the room and its invitations (one round trip, one parse and
        # adaptation in psycopg instead of two): the memberships insert gets empty arrays when
        # nobody was invited. No foreign key ties the two tables, so their order does not matter.
        deleted = room.status == ROOM_DELETED
        invited = [p for p in room.participants if p.invited]
        self._execute_later(
            SAVE_ROOM_SQL,
            (
                room.room_id,
                room.application_id,
                room.variant,
                room.created_ms,
                room.free_slots,
                room.to_document(),
                room.room_id,
                room.application_id,
                room.created_ms,
                [_text(p.player_id) for p in invited],
                [p.status == INVITED and not p.dismissed and not deleted for p in invited],
            ),
        )

    def find_request(self, application_id: str, player_id: str, request_id: int) -> str | None:
        if self._write:
            # Parallel retries of one create queue here until the first one commits.
            self._execute_later(
                "SELECT pg_advisory_xact_lock(%s)",
                (_lock_key("request", application_id, player_id, request_id),),
            )
        row = self.execute(
            "SELECT room_id FROM create_requests"
            " WHERE application_id = %s AND player_id = %s AND request_id = %s",
            (application_id, _text(player_id), request_id),
        ).fetchone()
        return str(row[0]) if row else None

    def remember_request(
        self, application_id: str, player_id: str, request_id: int, room_id: str
    ) -> None:
        self._execute_later(
            "INSERT INTO create_requests (application_id, player_id, request_id, room_id)"
            " VALUES (%s, %s, %s, %s)",
            (application_id, _text(player_id), request_id, room_id),
        )

    def match_candidates(self, application_id: str, variant: int | None) -> Iterator[RoomState]:
        self._execute_later(
            "SELECT pg_advisory_xact_lock(%s)", (_lock_key("match", application_id, variant),)
        )
        after: tuple[int, str] = (-1, "")
        while True:
            # One room at a time, locked: only the rooms actually looked at are held, and a
            # room whose last slot went meanwhile drops out when its lock is granted.
            row = self.execute(
                "SELECT created_ms, room_id, document FROM rooms"
                " WHERE application_id = %s AND free_slots > 0"
                " AND variant IS NOT DISTINCT FROM %s AND (created_ms, room_id) > (%s, %s)"
                " ORDER BY created_ms, room_id LIMIT 1 FOR UPDATE",
                (application_id, variant, after[0], after[1]),
            ).fetchone()
            if row is None:
                return
            after = (int(row[0]), str(row[1]))
            yield _room(row[2])

    def invitations(
        self, application_id: str, player_id: str, after: ListPosition | None, limit: int
    ) -> Sequence[RoomState]:
        parameters = _invitations_parameters(application_id, player_id, after, limit)
        rows = self.execute(INVITATIONS_SQL, parameters).fetchall()
        return [_room(document) for (document,) in rows]


def _with_options(url: str, extra: str) -> str:
    """``extra`` server options after those the address (or else ``PGOPTIONS``) gives: a
    connection's own ``options`` would replace them, a schema in ``search_path`` say."""
    try:
        given = psycopg.conninfo.conninfo_to_dict(url).get("options")
    except psycopg.Error:  # a malformed address: connecting says what is wrong with it
        given = None
    given = given or os.environ.get("PGOPTIONS")
    return f"{given} {extra}" if given else extra


def _invitations_parameters(
    application_id: str, player_id: str, after: ListPosition | None, limit: int
) -> tuple[object, ...]:
    start = after if after is not None else (-1, "")
    return (application_id, _text(player_id), start[0], _text(start[1]), limit)


def _room(document: str) -> RoomState:
    return RoomState.from_document(document)


class _Fetched:
    """The rows of a statement run on the loop, read like a cursor's."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


class PostgresStore:
    """``Store`` on a PostgreSQL database whose layout is at ``LATEST_VERSION``."""

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self._where = redact(url)
        self._url = url  # kept for scrubbing messages of its password, never shown
        self.pool_size = max(pool_size, 1)
        self._pool = ConnectionPool(
            url,
            min_size=0,  # served requests use the loop's connections; this opens on demand
            max_size=self.pool_size,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": "rooms-kit"},
            timeout=POOL_WAIT_SECONDS,
            open=False,
            name="rooms-kit",
        )
        clock_options = _with_options(url, CLOCK_OPTIONS)
        self._clock = ConnectionPool(
            url,
            min_size=0,
            max_size=2,
            kwargs={
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                "application_name": "rooms-kit clock",
                "options": clock_options,
            },
            timeout=POOL_WAIT_SECONDS,
            open=False,
            name="rooms-kit-clock",
        )
        # The same, for the service run on the event loop (``on_loop``): asynchronous
        # connections, used only by calls made there.
        self._loop_pool = LoopConnections(url, self.pool_size, name="rooms-kit")
        self._loop_clock = LoopConnections(url, 2, name="rooms-kit clock", options=clock_options)
        try:
            # One plain connection first: a wrong address or password fails at once with
            # PostgreSQL's own reason, rather than after the pool's retries. In autocommit, so
            # that closing it sends no COMMIT or ROLLBACK, which nothing would bound.
            with psycopg.connect(
                url, connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=True
            ) as connection:
                watch = StatementWatch(connection, self._where)
                try:
                    with watch.bounded():
                        postgres_schema.check_version(connection, self._where)
                        standby = connection.execute(RECOVERY_SQL).fetchone()
                except psycopg.Error as exc:
                    if watch.expired:
                        raise watch.failure(exc) from None
                    raise
            if standby is not None and standby[0]:
                raise StoreError(
                    f"{self._where}: this PostgreSQL is a standby (in recovery), which refuses "
                    "writes; give the primary's address"
                )
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
            self._clock.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except PoolTimeout:
            self.close()
            raise StoreError(
                f"{self._where}: cannot connect to the database within "
                f"{CONNECT_TIMEOUT_SECONDS} s (is PostgreSQL running, and the address right?)"
            ) from None
        except psycopg.Error as exc:
            self.close()
            message = scrubbed(str(exc), self._url)
            raise StoreError(f"{self._where}: cannot use this database: {message}") from None
        except BaseException:
            self.close()
            raise

    @property
    def path(self) -> str:
        """The database address without its password."""
        return self._where

    def tick(self, wall_ms: int) -> int:
        if inside():
            rows = wait_for(self._loop_clock.rows(TICK_SQL, (wall_ms,)))
            row = rows[0] if rows else None
        else:
            with self._checkout(self._clock) as connection:
                watch = StatementWatch(connection, self._where)
                try:
                    row = watch.run(connection.execute, TICK_SQL, (wall_ms,)).fetchone()
                except psycopg.Error as exc:
                    raise watch.failure(exc) from None
        assert row is not None, "the clock row is created by the first migration"
        return int(row[0])

    @contextmanager
    def _checkout(self, pool: ConnectionPool[Any]) -> Iterator[psycopg.Connection[Any]]:
        """A connection of ``pool`` for a thread; ``StoreError`` when none comes in time."""
        try:
            connection = pool.getconn()
        except PoolTimeout:
            raise StoreError(
                f"{self._where}: no database connection within {pool.timeout:g} s "
                "(PostgreSQL did not answer, or every connection stayed busy)"
            ) from None
        try:
            yield connection
        finally:
            pool.putconn(connection)

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[PostgresTransaction]:
        if inside():
            with self._transaction_on_loop(write) as tx:
                yield tx
            return
        with self._checkout(self._pool) as connection:
            watch = StatementWatch(connection, self._where)

            def run(sql: str, parameters: Sequence[object]) -> Rows:
                return watch.run(connection.execute, sql, parameters)

            try:
                # Set on every checkout (no round trip): the pool's connections serve both kinds.
                if not write:
                    connection.autocommit = True
                    yield PostgresTransaction(run, self, write)
                    return
                connection.autocommit = False
                connection.read_only = False
                connection.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
                try:
                    yield PostgresTransaction(run, self, write)  # the first statement sends BEGIN
                    cut_before = watch.expired  # then COMMIT was never sent
                    try:
                        watch.run(connection.commit)
                    except psycopg.Error as exc:
                        raise watch.failure(exc, committing=not cut_before) from None
                except BaseException:
                    if connection.info.transaction_status in _OPEN_TRANSACTION:
                        with contextlib.suppress(psycopg.Error):
                            watch.run(connection.rollback)
                    raise
            except psycopg.Error as exc:
                raise watch.failure(exc) from None

    @contextmanager
    def _transaction_on_loop(self, write: bool) -> Iterator[PostgresTransaction]:
        """The same transaction for a service call run on the event loop (``on_loop``): an
        asynchronous autocommit connection, with BEGIN and COMMIT sent explicitly for a write
        (READ COMMITTED, the server's default). A connection that comes back in any state but
        idle is closed, which rolls back whatever it held."""
        pool = self._loop_pool
        connection = wait_for(pool.take())

        def run(sql: str, parameters: Sequence[object]) -> Rows:
            return _Fetched(wait_for(answered(connection.rows(sql, parameters))))

        try:
            if write:
                # BEGIN, the locks and the saves go out with the next statement that reads,
                # or with COMMIT: a write of the service is two or three round trips, not five.
                connection.defer("BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE")
            yield PostgresTransaction(run, self, write, later=connection.defer if write else None)
            if write:
                run("COMMIT", ())
        except BaseException:
            connection.discard_deferred()
            # Undo a transaction left open (a refusal, a failed statement); a connection caught
            # mid-statement (a cancelled call) is not idle, and give_back closes it instead.
            if connection.transaction_status in _OPEN_TRANSACTION:
                with contextlib.suppress(psycopg.Error):
                    run("ROLLBACK", ())
            raise
        finally:
            pool.give_back(connection)

    def write(self) -> AbstractContextManager[PostgresTransaction]:
        return self._transaction(write=True)

    def read(self) -> AbstractContextManager[PostgresTransaction]:
        return self._transaction(write=False)

    def player_for_token_digest(self, digest: str) -> str | None:
        with self._transaction(write=False) as tx:
            row = tx.execute(TOKEN_SQL, (digest,)).fetchone()
        return str(row[0]) if row else None

    def add_token_digest(self, digest: str, player_id: str) -> str:
        with self._transaction(write=True) as tx:
            tx.execute(
                "INSERT INTO tokens (digest, player_id) VALUES (%s, %s)"
                " ON CONFLICT (digest) DO NOTHING",
                (digest, player_id),
            )
            row = tx.execute(TOKEN_SQL, (digest,)).fetchone()
        return str(row[0])

    def stored_players(self, digests: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for batch in token_batches(digests):  # a read is one statement: one read per slice
            with self._transaction(write=False) as tx:
                rows = tx.execute(
                    "SELECT digest, player_id FROM tokens WHERE digest = ANY(%s)", (list(batch),)
                ).fetchall()
            found.update((str(digest), str(player)) for digest, player in rows)
        return found

    def has_tokens(self) -> bool:
        with self._transaction(write=False) as tx:
            row = tx.execute("SELECT 1 FROM tokens LIMIT 1").fetchone()
        return row is not None

    def takes_writes(self) -> bool:
        with self._transaction(write=False) as tx:
            row = tx.execute(HEALTH_SQL).fetchone()
        return row is not None and not row[0]

    def claim_auth_mode(self, mode: str) -> str:
        """Store ``mode`` unless the database holds one already; the mode it holds now."""
        with self._transaction(write=True) as tx:
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                (AUTH_MODE_KEY, mode),
            )
            row = tx.execute(
                "SELECT value FROM settings WHERE key = %s", (AUTH_MODE_KEY,)
            ).fetchone()
        assert row is not None, "the row was just inserted or was there already"
        return str(row[0])

    def auth_mode(self) -> str | None:
        with self._transaction(write=False) as tx:
            row = tx.execute(
                "SELECT value FROM settings WHERE key = %s", (AUTH_MODE_KEY,)
            ).fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        self._pool.close()
        self._clock.close()
        self._loop_pool.close()
        self._loop_clock.close()

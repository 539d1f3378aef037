"""The SQLite implementation of ``Store``: a file (or ``:memory:``), one transaction per request.

Durability and isolation (docs/room-lifecycle.md, "Storage and concurrency"):

- write-ahead logging with ``synchronous=FULL``: a commit returns only once it is on disk, so an
  acknowledged write survives a killed process;
- write transactions start with ``BEGIN IMMEDIATE``, taking the write lock before their first read,
  so two read-modify-write cycles never interleave (other writers wait, up to ``busy_timeout``);
- before that, writers queue on locks that wake them the moment the lock is free, which SQLite's
  busy handler does not (it sleeps 1, 2, 5 ... up to 100 ms between attempts): a thread lock
  within a process, then an exclusive ``flock`` on a side file (``<database>-writer``) across
  processes, so two ``serve`` workers hand the database to each other at once. The side lock
  only orders writers that use it; SQLite's own lock still guarantees isolation against any
  other program, and the kernel drops a killed process's ``flock``. The side file is created
  only once the database has opened with this layout, so a refused file leaves none behind;
- each thread gets its own connection to a file database; a ``:memory:`` database exists only
  inside one connection, so that one is shared and guarded by a lock.

A room is kept as one JSON document; two narrow tables index what queries need: memberships (for
``list``) and the open-slot count on the room row (for auto-matching).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from rooms_kit.errors import KitError
from rooms_kit.reference_server.state import INVITED, ROOM_DELETED, RoomState
from rooms_kit.reference_server.storage import ListPosition, token_batches

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 120_000
WAL_SWITCH_ATTEMPTS = 400
WRITER_LOCK_SUFFIX = "-writer"
"""The side file whose ``flock`` orders the writers of all processes on one database file."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
    room_id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    variant INTEGER,
    created_ms INTEGER NOT NULL,
    free_slots INTEGER NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rooms_open_slots
    ON rooms (application_id, created_ms) WHERE free_slots > 0;
CREATE TABLE IF NOT EXISTS memberships (
    player_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    application_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    listed INTEGER NOT NULL,
    PRIMARY KEY (player_id, room_id)
);
CREATE INDEX IF NOT EXISTS memberships_invitations
    ON memberships (application_id, player_id, listed, created_ms, room_id);
CREATE TABLE IF NOT EXISTS create_requests (
    application_id TEXT NOT NULL,
    player_id TEXT NOT NULL,
    request_id INTEGER NOT NULL,
    room_id TEXT NOT NULL,
    PRIMARY KEY (application_id, player_id, request_id)
);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY,
    player_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreError(KitError):
    """The database cannot be opened or has an unknown layout."""


class SqliteTransaction:
    """``Transaction`` on one SQLite connection inside an open transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, parameters)

    def tick(self, wall_ms: int) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
        now = max(wall_ms, (row[0] + 1) if row else wall_ms)
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('clock', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (now,),
        )
        return now

    def load_room(self, room_id: str) -> RoomState | None:
        row = self._db.execute(
            "SELECT document FROM rooms WHERE room_id = ?", (room_id,)
        ).fetchone()
        return _room(row[0]) if row else None

    def save_room(self, room: RoomState) -> None:
        self._db.execute(
            "INSERT INTO rooms (room_id, application_id, variant, created_ms, free_slots, document)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET"
            " free_slots = excluded.free_slots, document = excluded.document",
            (
                room.room_id,
                room.application_id,
                room.variant,
                room.created_ms,
                room.free_slots,
                room.to_document(),
            ),
        )
        deleted = room.status == ROOM_DELETED
        self._db.executemany(
            "INSERT INTO memberships (player_id, room_id, application_id, created_ms, listed)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (player_id, room_id) DO UPDATE SET"
            " listed = excluded.listed",
            [
                (
                    p.player_id,
                    room.room_id,
                    room.application_id,
                    room.created_ms,
                    int(p.status == INVITED and not p.dismissed and not deleted),
                )
                for p in room.participants
                if p.invited
            ],
        )

    def find_request(self, application_id: str, player_id: str, request_id: int) -> str | None:
        row = self._db.execute(
            "SELECT room_id FROM create_requests"
            " WHERE application_id = ? AND player_id = ? AND request_id = ?",
            (application_id, player_id, request_id),
        ).fetchone()
        return str(row[0]) if row else None

    def remember_request(
        self, application_id: str, player_id: str, request_id: int, room_id: str
    ) -> None:
        self._db.execute(
            "INSERT INTO create_requests (application_id, player_id, request_id, room_id)"
            " VALUES (?, ?, ?, ?)",
            (application_id, player_id, request_id, room_id),
        )

    def match_candidates(self, application_id: str, variant: int | None) -> Iterator[RoomState]:
        cursor = self._db.execute(
            "SELECT document FROM rooms WHERE application_id = ? AND free_slots > 0"
            " AND variant IS ? ORDER BY created_ms, room_id",
            (application_id, variant),
        )
        for (document,) in cursor:
            yield _room(document)

    def invitations(
        self, application_id: str, player_id: str, after: ListPosition | None, limit: int
    ) -> Sequence[RoomState]:
        start = after if after is not None else (-1, "")
        rows = self._db.execute(
            "SELECT r.document FROM memberships AS m JOIN rooms AS r ON r.room_id = m.room_id"
            " WHERE m.application_id = ? AND m.player_id = ? AND m.listed = 1"
            " AND (m.created_ms, m.room_id) > (?, ?)"
            " ORDER BY m.created_ms, m.room_id LIMIT ?",
            (application_id, player_id, start[0], start[1], limit),
        ).fetchall()
        return [_room(document) for (document,) in rows]


def _room(document: str) -> RoomState:
    return RoomState.from_document(document)


def _use_write_ahead_log(connection: sqlite3.Connection) -> None:
    """Switch a file database to WAL. The switch does not wait for other connections the way
    other statements do (no busy handler), so processes opening a new file at the same moment
    retry it for a while; once a database is in WAL mode the switch is a no-op."""
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(min(0.005 * (attempt + 1), 0.1))
            continue
        if mode and str(mode[0]).lower() == "wal":
            return
    raise sqlite3.OperationalError("could not switch the database to write-ahead logging")


class SqliteStore:
    """``Store`` on a SQLite file, or on ``:memory:``."""

    def __init__(self, database: str | Path = ":memory:") -> None:
        self._path = str(database)
        self._memory = self._path == ":memory:"
        self._local = threading.local()
        self._lock = threading.RLock()
        self._writer_lock = threading.Lock()
        self._writer_file: int | None = None
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._shared: sqlite3.Connection | None = None
        connection = self._connection()
        try:
            connection.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}"
                f"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', {SCHEMA_VERSION});"
                "COMMIT;"
            )
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self._path}: cannot use this database: {exc}") from None
        if row is None or row[0] != SCHEMA_VERSION:
            self.close()
            found = "none" if row is None else row[0]
            raise StoreError(f"{self._path}: unknown database layout version ({found})")
        # Only now, with the database open and of this layout: a refused file gets no side file.
        self._writer_file = self._open_writer_file()

    def _open_writer_file(self) -> int | None:
        if self._memory or fcntl is None:
            return None
        try:
            return os.open(
                # beside the file itself, not a link to it: every name of one database must
                # take the same lock
                os.path.realpath(self._path) + WRITER_LOCK_SUFFIX,
                os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                0o644,
            )
        except OSError:  # a read-only folder, say: SQLite's own locking alone
            return None

    @property
    def path(self) -> str:
        return self._path

    def _open(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self._path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{self._path}: cannot open the database: {exc}") from None
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self._memory:
                _use_write_ahead_log(connection)
            connection.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            connection.close()  # not kept open on a file that was refused
            raise StoreError(f"{self._path}: cannot open the database: {exc}") from None
        with self._lock:
            self._connections.append(connection)
        return connection

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self._path}: the store is closed")
        if self._memory:
            if self._shared is None:
                self._shared = self._open()
            return self._shared
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
        return connection

    @contextmanager
    def _writers_turn(self) -> Iterator[None]:
        """Wait, woken at once when it is free, for the write lock of this process and then
        for the ``flock`` of the side file that every process's writers take."""
        with self._writer_lock:
            descriptor = self._writer_file
            if descriptor is None or fcntl is None:
                yield
                return
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[SqliteTransaction]:
        guard: AbstractContextManager[object] = nullcontext()
        if self._memory:
            guard = self._lock
        elif begin == "BEGIN IMMEDIATE":
            # Writers queue here and are woken at once; left to SQLite they would poll its
            # lock with sleeps of up to 100 ms.
            guard = self._writers_turn()
        with guard:
            connection = self._connection()
            connection.execute(begin)
            try:
                yield SqliteTransaction(connection)
            except BaseException:
                if connection.in_transaction:  # SQLite may have rolled back already
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @contextmanager
    def _savepoint(self) -> Iterator[SqliteTransaction]:
        """One request inside the batch transaction of ``run_batch``: undone alone on error."""
        connection = self._connection()
        connection.execute("SAVEPOINT request")
        try:
            yield SqliteTransaction(connection)
        except BaseException:
            connection.execute("ROLLBACK TO request")
            connection.execute("RELEASE request")
            raise
        connection.execute("RELEASE request")

    def write(self) -> AbstractContextManager[SqliteTransaction]:
        if getattr(self._local, "in_batch", False):
            return self._savepoint()
        return self._transaction("BEGIN IMMEDIATE")

    def read(self) -> AbstractContextManager[SqliteTransaction]:
        if getattr(self._local, "in_batch", False):
            return self._savepoint()
        return self._transaction("BEGIN")

    def run_batch(self, calls: Sequence[Callable[[], object]]) -> list[tuple[bool, object]]:
        """Run ``calls`` one after another in one write transaction with a single commit.

        Each call runs in a savepoint of that transaction (and its ``write()`` in one more), so
        a call that raises leaves nothing behind while the others keep their changes. The answer
        holds, per call, ``(True, result)`` or ``(False, exception)``, and is only given once the
        commit (with its fsync) is done. When the commit fails, or an error made SQLite drop the
        whole transaction (a full disk, say), that error is raised for the whole batch.
        """
        outcomes: list[tuple[bool, object]] = []
        with self._transaction("BEGIN IMMEDIATE"):
            connection = self._connection()
            self._local.in_batch = True
            try:
                for call in calls:
                    try:
                        with self._savepoint():  # all of the call, undone if it raises
                            outcomes.append((True, call()))
                    except Exception as exc:  # handed to the caller that made this call
                        if not connection.in_transaction:
                            raise  # the earlier calls' changes are gone as well
                        outcomes.append((False, exc))
            finally:
                self._local.in_batch = False
        return outcomes

    def player_for_token_digest(self, digest: str) -> str | None:
        with self._transaction("BEGIN") as tx:
            row = tx.execute("SELECT player_id FROM tokens WHERE digest = ?", (digest,)).fetchone()
        return str(row[0]) if row else None

    def add_token_digest(self, digest: str, player_id: str) -> str:
        with self._transaction("BEGIN IMMEDIATE") as tx:
            tx.execute(
                "INSERT INTO tokens (digest, player_id) VALUES (?, ?)"
                " ON CONFLICT (digest) DO NOTHING",
                (digest, player_id),
            )
            row = tx.execute("SELECT player_id FROM tokens WHERE digest = ?", (digest,)).fetchone()
        return str(row[0])

    def stored_players(self, digests: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._transaction("BEGIN") as tx:
            for batch in token_batches(digests):
                marks = ", ".join("?" * len(batch))
                rows = tx.execute(
                    f"SELECT digest, player_id FROM tokens WHERE digest IN ({marks})",
                    tuple(batch),
                )
                found.update((str(digest), str(player)) for digest, player in rows)
        return found

    def has_tokens(self) -> bool:
        with self._transaction("BEGIN") as tx:
            row = tx.execute("SELECT 1 FROM tokens LIMIT 1").fetchone()
        return row is not None

    def takes_writes(self) -> bool:
        with self._transaction("BEGIN") as tx:  # a file opened at all was opened for writing
            tx.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
        return True

    def claim_auth_mode(self, mode: str) -> str:
        with self._transaction("BEGIN IMMEDIATE") as tx:
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('auth_mode', ?)"
                " ON CONFLICT (key) DO NOTHING",
                (mode,),
            )
            row = tx.execute("SELECT value FROM settings WHERE key = 'auth_mode'").fetchone()
        return str(row[0])

    def auth_mode(self) -> str | None:
        """The recorded authentication mode, or ``None`` before any server has claimed one."""
        with self._transaction("BEGIN") as tx:
            row = tx.execute("SELECT value FROM settings WHERE key = 'auth_mode'").fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for connection in self._connections:
                connection.close()
            self._connections.clear()
            self._shared = None
        with self._writer_lock:  # not while a writer of this process holds the side lock
            if self._writer_file is not None:
                os.close(self._writer_file)
                self._writer_file = None

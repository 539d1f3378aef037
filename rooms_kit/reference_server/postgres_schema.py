"""The PostgreSQL layout of the reference server and the versioned steps that build it.

Each step is applied once, in its own transaction, and recorded in ``rooms_kit_migrations``. The
highest recorded version is the database's layout version:

- lower than ``LATEST_VERSION``: the database needs ``rooms-kit db upgrade`` (or ``serve --migrate``);
- equal: the store opens it;
- higher: the database was upgraded by a newer rooms-kit, and this code refuses it rather than
  guess at a layout it does not know.

Upgrades hold a session-level advisory lock, so workers and hosts started together with
``--migrate`` apply each step exactly once.

Every wait of an upgrade is bounded, for a database that stops answering without closing its
socket as much as for one that is only busy. A migration step may rightly take long on a large
database, so it gets its own limit (``step_seconds``: ``db upgrade --timeout``, ``serve
--migrate-timeout``; an hour unless told): PostgreSQL cancels a statement of the step that runs
longer (``statement_timeout``, set for the step's transaction only) and rolls the step back, and
the whole step is given up ``THREAD_STATEMENT_SECONDS`` after that limit
(``postgres_watch.StatementWatch``), which also ends the wait on a database that no longer
answers at all. Another upgrader's lock is waited for at most the same limit, since that
upgrader's steps are bounded by it; the lock is asked for again and again with
``pg_try_advisory_lock``, each ask bounded like the rest (reading the version, releasing the
lock): 40 s, as every statement sent from a thread.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg

from rooms_kit.errors import KitError
from rooms_kit.reference_server import postgres_watch
from rooms_kit.reference_server.postgres_watch import StatementWatch
from rooms_kit.reference_server.sqlite_store import StoreError

MIGRATION_LOCK = 0x726F_6F6D_736B_6974
"""Advisory lock key held while migrating (any fixed int64; spells ``roomskit``)."""

DEFAULT_STEP_SECONDS = 3600.0
"""How long one migration step (and the wait for another upgrader's lock) may take by default."""
LOCK_POLL_SECONDS = 0.05
"""First pause between two asks for a busy upgrade lock (doubling up to 1 s)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "rooms, memberships, create requests, tokens, settings and the modification clock",
        """
CREATE TABLE rooms (
    room_id text PRIMARY KEY,
    application_id text NOT NULL,
    variant integer,
    created_ms bigint NOT NULL,
    free_slots integer NOT NULL,
    document text NOT NULL
);
CREATE INDEX rooms_open_slots ON rooms (application_id, created_ms, room_id)
    WHERE free_slots > 0;
CREATE TABLE memberships (
    player_id text NOT NULL,
    room_id text NOT NULL,
    application_id text NOT NULL,
    created_ms bigint NOT NULL,
    listed boolean NOT NULL,
    PRIMARY KEY (player_id, room_id)
);
CREATE INDEX memberships_invitations ON memberships (application_id, player_id, created_ms, room_id)
    WHERE listed;
CREATE TABLE create_requests (
    application_id text NOT NULL,
    player_id text NOT NULL,
    request_id bigint NOT NULL,
    room_id text NOT NULL,
    PRIMARY KEY (application_id, player_id, request_id)
);
CREATE TABLE tokens (
    digest text PRIMARY KEY,
    player_id text NOT NULL
);
CREATE TABLE settings (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE clock (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    value bigint NOT NULL
);
INSERT INTO clock (only_row, value) VALUES (true, 0);
""",
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS rooms_kit_migrations (
    version integer PRIMARY KEY,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class SchemaVersionError(KitError):
    """The database's layout version does not match this code."""


class UpgradeTimeout(StoreError):
    """An upgrade gave up waiting: for another upgrader's lock, a step, or PostgreSQL's answer."""


def current_version(connection: Any) -> int:
    """Layout version of the database behind ``connection`` (0 when nothing was applied)."""
    row = connection.execute("SELECT to_regclass('rooms_kit_migrations') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    row = connection.execute(
        "SELECT coalesce(max(version), 0) FROM rooms_kit_migrations"
    ).fetchone()
    return int(row[0])


def refuse_newer(version: int, where: str) -> None:
    if version > LATEST_VERSION:
        raise SchemaVersionError(
            f"{where}: the database layout is version {version}, newer than this rooms-kit "
            f"understands ({LATEST_VERSION}); run a rooms-kit at least as new as the one that "
            "upgraded it"
        )


def check_version(connection: Any, where: str) -> None:
    """Refuse a database whose layout is not exactly the one this code uses."""
    version = current_version(connection)
    refuse_newer(version, where)
    if version < LATEST_VERSION:
        raise SchemaVersionError(
            f"{where}: the database layout is version {version}, this rooms-kit needs "
            f"{LATEST_VERSION}; run `rooms-kit db upgrade --database URL` or "
            "`rooms-kit serve --migrate`"
        )


def upgrade(
    connection: Any, where: str, *, step_seconds: float = DEFAULT_STEP_SECONDS
) -> tuple[int, int]:
    """Apply every missing step on an autocommit ``connection``; returns (before, after).

    ``step_seconds`` bounds each step and the wait for another upgrader's lock (see the module
    docstring); a wait that runs out raises ``UpgradeTimeout``."""
    _take_lock(connection, where, step_seconds)
    try:
        reading = "reading the layout version"
        before = _bounded(connection, where, reading, current_version, "nothing was changed")
        refuse_newer(before, where)
        after = before
        for step in MIGRATIONS:
            if step.version > after:
                _apply(connection, where, step, after, step_seconds)
                after = step.version
        if after != before:  # read back, as the steps' transactions recorded it
            done = f"the layout was upgraded from version {before} to {after}"
            after = _bounded(connection, where, reading, current_version, done)
    except BaseException:
        # The lock goes with the session anyway; a release that fails on a connection already
        # lost (an interrupted statement psycopg gave up cancelling) must not hide the reason.
        _release_lock(connection, where)
        raise
    # Best effort here too: the steps are committed, and the caller closes the connection,
    # which frees a lock that a lost connection could not release.
    _release_lock(connection, where)
    return before, after


def _timeout_error(where: str, seconds: float, doing: str, outcome: str) -> UpgradeTimeout:
    return UpgradeTimeout(
        f"{where}: PostgreSQL did not answer within {seconds:g} s while {doing} "
        f"(the connection was closed); {outcome}"
    )


def _bounded(connection: Any, where: str, doing: str, read: Callable[[Any], T], outcome: str) -> T:
    """``read(connection)``, waiting at most ``THREAD_STATEMENT_SECONDS`` for PostgreSQL;
    ``outcome`` says what a timeout leaves behind."""
    watch = StatementWatch(connection, where)
    try:
        with watch.bounded():
            return read(connection)
    except psycopg.Error:
        if watch.expired:
            seconds = postgres_watch.THREAD_STATEMENT_SECONDS
            raise _timeout_error(where, seconds, doing, outcome) from None
        raise


def _take_lock(connection: Any, where: str, seconds: float) -> None:
    """The upgrade lock, waited for at most ``seconds`` (another upgrader holds it while its
    steps run, and those are bounded by its own limit). Asked for again and again rather than
    waited for in one statement, so that each ask is bounded like any other statement: a
    database that stops answering is told apart from a lock that stays busy."""
    deadline = time.monotonic() + seconds
    pause = LOCK_POLL_SECONDS
    while not _bounded(
        connection, where, "taking the upgrade lock", _try_lock, "nothing was changed"
    ):
        left = deadline - time.monotonic()
        if left <= 0:
            raise UpgradeTimeout(
                f"{where}: another upgrade holds the lock and did not finish within "
                f"{seconds:g} s; nothing was changed (run the upgrade again once it is done)"
            )
        time.sleep(min(pause, left))
        pause = min(pause * 2, 1.0)


def _try_lock(connection: Any) -> bool:
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK,)).fetchone()
    return bool(row and row[0])


def _apply(connection: Any, where: str, step: Migration, previous: int, seconds: float) -> None:
    """One step, its version row and (for the first) the version table, in one transaction
    whose statements PostgreSQL cancels after ``seconds``; cut off
    ``THREAD_STATEMENT_SECONDS`` later when PostgreSQL does not answer at all."""
    name = f"migration step {step.version} ({step.description})"
    watch = StatementWatch(connection, where)
    waited = seconds + postgres_watch.THREAD_STATEMENT_SECONDS
    committing = False
    started = time.monotonic()
    try:
        # The version table is made in the step's transaction, so a step that fails leaves
        # nothing behind (before, a database of another application kept an empty one).
        with watch.bounded(waited), connection.transaction():
            connection.execute(
                "SELECT set_config('statement_timeout', %s, true)", (_milliseconds(seconds),)
            )
            connection.execute(_VERSION_TABLE)
            connection.execute(step.sql)
            connection.execute(
                "INSERT INTO rooms_kit_migrations (version, description) VALUES (%s, %s)",
                (step.version, step.description),
            )
            committing = True  # the end of the block sends COMMIT
    except (psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject) as exc:
        if previous:
            raise
        raise SchemaVersionError(
            f"{where}: this database already holds tables that rooms-kit did not "
            f"make ({exc.diag.message_primary}); give rooms-kit a database of its own "
            "(nothing was changed)"
        ) from None
    except psycopg.errors.QueryCanceled:
        if time.monotonic() - started < seconds:  # (the message may be in another language)
            raise  # cancelled by someone else (pg_cancel_backend): said as it is
        raise UpgradeTimeout(
            f"{where}: {name} did not finish within {seconds:g} s; PostgreSQL cancelled it "
            f"and rolled it back, so the layout stays at version {previous}"
        ) from None
    except psycopg.Error:
        if not watch.expired:
            raise
        if committing:
            outcome = (
                f"{name} may or may not have been applied (its COMMIT went unanswered); "
                "run the upgrade again, which applies only what is missing"
            )
        else:
            outcome = f"{name} was not applied (PostgreSQL rolls it back)"
        raise _timeout_error(where, waited, f"applying {name}", outcome) from None


def _release_lock(connection: Any, where: str) -> None:
    """Best effort: the lock also goes with the session when the connection closes."""
    watch = StatementWatch(connection, where)
    with contextlib.suppress(psycopg.Error), watch.bounded():
        connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def _milliseconds(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"

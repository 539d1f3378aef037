"""The PostgreSQL layout of the reference server and the versioned steps that build it.

Each step is applied once, in its own transaction, and recorded in ``rooms_kit_migrations``. The
highest recorded version is the database's layout version:

- lower than ``LATEST_VERSION``: the database needs ``rooms-kit db upgrade`` (or ``serve --migrate``);
- equal: the store opens it;
- higher: the database was upgraded by a newer rooms-kit, and this code refuses it rather than
  guess at a layout it does not know.

Upgrades hold a session-level advisory lock, so workers and hosts started together with
``--migrate`` apply each step exactly once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from rooms_kit.errors import KitError

MIGRATION_LOCK = 0x726F_6F6D_736B_6974
"""Advisory lock key held while migrating (any fixed int64; spells ``roomskit``)."""


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


def upgrade(connection: Any, where: str) -> tuple[int, int]:
    """Apply every missing step on an autocommit ``connection``; returns (before, after)."""
    import psycopg  # noqa: PLC0415 - only called with a psycopg connection

    connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        before = current_version(connection)
        refuse_newer(before, where)
        for step in MIGRATIONS:
            if step.version <= before:
                continue
            # The version table is made in the step's transaction, so a step that fails leaves
            # nothing behind (before, a database of another application kept an empty one).
            try:
                with connection.transaction():
                    connection.execute(_VERSION_TABLE)
                    connection.execute(step.sql)
                    connection.execute(
                        "INSERT INTO rooms_kit_migrations (version, description) VALUES (%s, %s)",
                        (step.version, step.description),
                    )
            except (psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject) as exc:
                if before:
                    raise
                raise SchemaVersionError(
                    f"{where}: this database already holds tables that rooms-kit did not "
                    f"make ({exc.diag.message_primary}); give rooms-kit a database of its own "
                    "(nothing was changed)"
                ) from None
        versions = before, current_version(connection)
    except BaseException:
        # The lock goes with the session anyway; a release that fails on a connection already
        # lost (an interrupted statement psycopg gave up cancelling) must not hide the reason.
        with contextlib.suppress(psycopg.Error):
            connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        raise
    connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return versions

"""Which ``Store`` a ``--database`` value means: a ``postgresql://`` (or ``postgres://``) URL
opens PostgreSQL, anything else is a SQLite file (or ``:memory:``).

psycopg is an optional dependency (``pip install 'games-rooms-kit[postgres]'``); it is imported
only when a PostgreSQL address is given, and its absence is a clear error, not a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rooms_kit.reference_server.sqlite_store import SqliteStore, StoreError
from rooms_kit.reference_server.storage import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
INSTALL_HINT = "install it with: pip install 'games-rooms-kit[postgres]'"


def is_postgres(database: str | Path) -> bool:
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


def describe(database: str | Path) -> str:
    """The database as logs may show it (a PostgreSQL password is left out)."""
    if not is_postgres(database):
        return str(database)
    from rooms_kit.reference_server.postgres_store import redact  # noqa: PLC0415

    return redact(str(database))


def _postgres_module() -> Any:
    try:
        from rooms_kit.reference_server import postgres_store  # noqa: PLC0415
    except ImportError as exc:
        raise StoreError(
            "a postgresql:// database needs the [postgres] extra, which is not installed "
            f"(missing: {exc.name}); {INSTALL_HINT}"
        ) from None
    return postgres_store


def open_store(database: str | Path, *, pool_size: int | None = None) -> Store:
    """The store behind ``database``; ``StoreError`` when it cannot be used."""
    if is_postgres(database):
        module = _postgres_module()
        size = module.POOL_SIZE if pool_size is None else pool_size
        store: Store = module.PostgresStore(str(database), pool_size=size)
        return store
    return SqliteStore(database)


def upgrade(database: str | Path, *, step_seconds: float | None = None) -> tuple[int, int]:
    """Bring the database's layout to this code's version; returns (before, after).

    ``step_seconds`` bounds each PostgreSQL migration step and the wait for another upgrader
    (``postgres_schema.DEFAULT_STEP_SECONDS`` unless told)."""
    if not is_postgres(database):
        # SQLite databases are created at the current layout and need no step.
        store = SqliteStore(database)
        store.close()
        from rooms_kit.reference_server.sqlite_store import SCHEMA_VERSION  # noqa: PLC0415

        return SCHEMA_VERSION, SCHEMA_VERSION
    postgres_store = _postgres_module()
    import psycopg  # noqa: PLC0415

    from rooms_kit.reference_server import postgres_schema  # noqa: PLC0415

    where = describe(database)
    try:
        with psycopg.connect(str(database), autocommit=True, connect_timeout=10) as connection:
            if step_seconds is None:
                return postgres_schema.upgrade(connection, where)
            return postgres_schema.upgrade(connection, where, step_seconds=step_seconds)
    except psycopg.Error as exc:
        message = postgres_store.scrubbed(str(exc), str(database))
        raise StoreError(f"{where}: cannot upgrade the database: {message}") from None

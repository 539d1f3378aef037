from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rooms_kit.reference_server import RoomService, Store
from rooms_kit.reference_server.app import create_reference_app
from rooms_kit.reference_server.sqlite_store import SqliteStore
from rooms_kit.reference_server.stores import open_store
from rooms_kit.schemas import SchemaSet, reference_validator
from tests.reference_server.client_service import ClientService
from tests.reference_server.postgres_cluster import Cluster
from tests.reference_server.support import InProcess, empty_postgres_database, portal

TRUNCATE = (
    "TRUNCATE rooms, memberships, create_requests, tokens, settings; UPDATE clock SET value = 0"
)


class ManualClock:
    """Wall clock for tests: stands still unless moved."""

    def __init__(self, start: int = 1_700_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


class CheckedService:
    """``RoomService`` whose every answer is checked against the strict schemas."""

    def __init__(self, service: RoomService, schemas: SchemaSet) -> None:
        self.inner = service
        self._validators = {
            kind: reference_validator(schemas, kind, strict=True)
            for kind in ("games#room", "games#roomList", "games#roomStatus")
        }

    def _checked(self, answer: dict[str, Any]) -> dict[str, Any]:
        errors = [e.message for e in self._validators[answer["kind"]].iter_errors(answer)]
        assert errors == [], errors
        return answer

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            answer = method(*args, **kwargs)
            return None if answer is None else self._checked(answer)

        return call


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the whole test session. Starting it must work: a
    missing or broken PostgreSQL fails every test that needs it (never a skip)."""
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def rules_database(postgres: Cluster) -> str:
    """A migrated database for the service-level rule tests, emptied before each test."""
    return empty_postgres_database(postgres, "rules")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """Each service-level test runs on both stores: SQLite in memory, and an emptied
    PostgreSQL database."""
    if request.param == "sqlite":
        return ":memory:"
    url: str = request.getfixturevalue("rules_database")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(TRUNCATE)
    return url


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    store = open_store(database)
    yield store
    store.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A SQLite file for the tests of the file store alone (``database`` covers both stores)."""
    return tmp_path / "rooms.db"


@pytest.fixture
def sqlite_store(sqlite_path: Path) -> Iterator[SqliteStore]:
    """The store on ``sqlite_path``, closed after the test."""
    opened = SqliteStore(sqlite_path)
    yield opened
    opened.close()


@pytest.fixture(params=["direct", "http"])
def service(
    request: pytest.FixtureRequest,
    database: str,
    store: Store,
    clock: ManualClock,
    schemas: SchemaSet,
) -> Iterator[CheckedService]:
    """The room service called directly, and the same calls made over HTTP with the generated
    client against the in-process reference app: every service-level test runs both ways, on
    both stores."""
    if request.param == "direct":
        yield CheckedService(RoomService(store, wall_clock=clock), schemas)
        return
    app = create_reference_app(database, dev_tokens=True, validate_responses=True, wall_clock=clock)
    try:
        with portal() as running:
            server = InProcess(app, running)
            try:
                yield CheckedService(ClientService(server), schemas)  # type: ignore[arg-type]
            finally:
                server.close()
    finally:
        app.close()


def participant(room: dict[str, Any], player_id: str) -> dict[str, Any]:
    """The entry of ``player_id`` (only for entries that name their player)."""
    for entry in room["participants"]:
        if entry.get("player", {}).get("playerId") == player_id:
            return entry
    raise AssertionError(f"{player_id} not among the named participants")


def statuses(room: dict[str, Any]) -> list[str]:
    return [p["status"] for p in room["participants"]]

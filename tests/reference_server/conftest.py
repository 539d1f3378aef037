from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rooms_kit.reference_server import RoomService, SqliteStore
from rooms_kit.reference_server.app import create_reference_app
from rooms_kit.schemas import SchemaSet, reference_validator
from tests.reference_server.client_service import ClientService
from tests.reference_server.support import InProcess, portal


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


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    store = SqliteStore(":memory:")
    yield store
    store.close()


@pytest.fixture(params=["direct", "http"])
def service(
    request: pytest.FixtureRequest, store: SqliteStore, clock: ManualClock, schemas: SchemaSet
) -> Iterator[CheckedService]:
    """The room service called directly, and the same calls made over HTTP with the generated
    client against the in-process reference app: every service-level test runs both ways."""
    if request.param == "direct":
        yield CheckedService(RoomService(store, wall_clock=clock), schemas)
        return
    app = create_reference_app(
        ":memory:", dev_tokens=True, validate_responses=True, wall_clock=clock
    )
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

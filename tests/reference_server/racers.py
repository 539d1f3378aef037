"""Work done by each racer of the concurrency tests, importable by spawned processes."""

from __future__ import annotations

from typing import Any

from rooms_kit.reference_server import RoomService, SqliteStore

BARRIER_SECONDS = 300
"""Only a guard against hanging when a racer dies before the start; never a measurement."""


def create(database: str, player: str, body: dict[str, Any], start: Any) -> str:
    """Open the database, wait for every racer to be ready, create; return the room id."""
    store = SqliteStore(database)
    try:
        service = RoomService(store)
        start.wait(BARRIER_SECONDS)
        return str(service.create(player, body)["roomId"])
    finally:
        store.close()


def create_in_process(args: tuple[str, str, dict[str, Any], Any]) -> str:
    return create(*args)

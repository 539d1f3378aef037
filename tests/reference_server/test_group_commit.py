"""Group commit on a SQLite file: writes share a commit, fail alone, and are on disk when answered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from rooms_kit.reference_server import RoomService
from rooms_kit.reference_server.app import create_reference_app
from rooms_kit.reference_server.errors import ServiceError
from rooms_kit.reference_server.group_commit import GroupCommitter
from rooms_kit.reference_server.sqlite_store import SqliteStore, StoreError


def rooms_on_disk(database: Path, player: str) -> list[str]:
    """Room ids ``player`` sees, read through a connection of its own (committed data only)."""
    fresh = SqliteStore(database)
    try:
        listed = RoomService(fresh).list(player)
        return sorted(room["roomId"] for room in listed.get("items", []))
    finally:
        fresh.close()


def test_a_failing_call_is_undone_alone_and_the_others_are_committed(
    sqlite_store: SqliteStore, sqlite_path: Path
) -> None:
    service = RoomService(sqlite_store)

    def refused() -> object:
        service.create("carol", {"invitedPlayerIds": ["dave"]})  # written, then undone
        raise ServiceError("refused on purpose")

    outcomes = sqlite_store.run_batch(
        [
            lambda: service.create("alice", {"invitedPlayerIds": ["bob"]}),
            refused,
            lambda: service.create("erin", {"invitedPlayerIds": ["bob"]}),
        ]
    )
    assert [ok for ok, _ in outcomes] == [True, False, True]
    assert isinstance(outcomes[1][1], ServiceError)
    made = [value["roomId"] for ok, value in outcomes if ok]  # type: ignore[index]
    assert rooms_on_disk(sqlite_path, "bob") == sorted(made)
    assert rooms_on_disk(sqlite_path, "dave") == []
    # the store is still usable on its own afterwards
    assert service.create("frank", {"invitedPlayerIds": ["bob"]})["kind"] == "games#room"


def test_a_call_that_loses_the_whole_transaction_fails_the_whole_batch(
    sqlite_store: SqliteStore, sqlite_path: Path
) -> None:
    service = RoomService(sqlite_store)

    def lose_everything() -> object:  # what SQLite does itself on some errors (disk full)
        sqlite_store._connection().execute("ROLLBACK")
        return None

    with pytest.raises(Exception, match="savepoint"):
        sqlite_store.run_batch(
            [
                lambda: service.create("alice", {"invitedPlayerIds": ["bob"]}),
                lose_everything,
                lambda: service.create("carol", {"invitedPlayerIds": ["bob"]}),
            ]
        )
    assert rooms_on_disk(sqlite_path, "bob") == []  # nothing acknowledged, nothing kept
    made = service.create("erin", {"invitedPlayerIds": ["bob"]})["roomId"]
    assert rooms_on_disk(sqlite_path, "bob") == [made]


def test_the_same_request_id_inside_one_batch_makes_one_room(sqlite_store: SqliteStore) -> None:
    service = RoomService(sqlite_store)
    body = {"invitedPlayerIds": ["bob"], "requestId": "77"}
    outcomes = sqlite_store.run_batch([lambda: service.create("alice", body) for _ in range(4)])
    assert {value["roomId"] for _, value in outcomes} == {outcomes[0][1]["roomId"]}  # type: ignore[index]


def test_concurrent_writes_share_commits_and_are_on_disk_when_answered(
    sqlite_store: SqliteStore, sqlite_path: Path
) -> None:
    service = RoomService(sqlite_store)
    writer = GroupCommitter(sqlite_store)

    async def go() -> list[str]:
        # Hold the writer lock so that the calls pile up behind the first batch.
        with sqlite_store._writer_lock:
            tasks = [
                asyncio.ensure_future(
                    writer.call(service.create, f"p{n}", {"invitedPlayerIds": ["bob"]})
                )
                for n in range(20)
            ]
            await asyncio.sleep(0.05)
            assert not any(task.done() for task in tasks)
        rooms = await asyncio.gather(*tasks)
        return [room["roomId"] for room in rooms]

    try:
        made = asyncio.run(go())
    finally:
        writer.close()
    assert len(set(made)) == 20
    assert rooms_on_disk(sqlite_path, "bob") == sorted(made)
    assert writer.largest_batch >= 10
    assert writer.batches < 20


def test_service_errors_reach_their_own_caller_only(sqlite_store: SqliteStore) -> None:
    service = RoomService(sqlite_store)
    writer = GroupCommitter(sqlite_store)

    async def go() -> tuple[Any, ...]:
        return tuple(
            await asyncio.gather(
                writer.call(service.create, "alice", {"invitedPlayerIds": ["bob"]}),
                writer.call(service.join, "bob", "no-such-room", {}),
                writer.call(service.create, "carol", {"invitedPlayerIds": ["bob"]}),
                return_exceptions=True,
            )
        )

    try:
        first, failed, third = asyncio.run(go())
    finally:
        writer.close()
    assert isinstance(failed, ServiceError)
    assert failed.status == 404
    assert first["kind"] == third["kind"] == "games#room"


class BrokenCommit:
    """A store whose commit fails once: every call of that batch must hear of it."""

    def __init__(self) -> None:
        self.failures = 1

    def run_batch(self, calls: list[Callable[[], object]]) -> list[tuple[bool, object]]:
        outcomes: list[tuple[bool, object]] = [(True, call()) for call in calls]
        if self.failures:
            self.failures -= 1
            raise OSError("disk I/O error")
        return outcomes


def test_a_failed_commit_fails_every_call_of_its_batch_and_the_writer_goes_on() -> None:
    writer = GroupCommitter(BrokenCommit())

    async def go() -> tuple[list[Any], Any]:
        first = await asyncio.gather(
            *(writer.call(lambda n=n: n) for n in range(3)), return_exceptions=True
        )
        return first, await writer.call(lambda: "later")

    try:
        first, later = asyncio.run(go())
    finally:
        writer.close()
    assert later == "later"
    assert isinstance(first[0], OSError)  # the first call is always in the failed batch
    assert all(isinstance(outcome, OSError | int) for outcome in first)
    assert writer.batches >= 2


def test_a_closed_writer_refuses_new_calls_and_finishes_queued_ones(
    sqlite_store: SqliteStore,
) -> None:
    service = RoomService(sqlite_store)
    writer = GroupCommitter(sqlite_store)

    async def go() -> Any:
        return await writer.call(service.create, "alice", {"invitedPlayerIds": ["bob"]})

    assert asyncio.run(go())["kind"] == "games#room"
    writer.close()
    writer.close()  # twice is harmless
    with pytest.raises(StoreError):
        asyncio.run(go())


def test_the_reference_server_on_a_file_writes_through_the_group_committer(
    sqlite_path: Path,
) -> None:
    app = create_reference_app(sqlite_path, dev_tokens=True, validate_responses=True)
    assert app.writer is not None
    headers = {"Authorization": "Bearer dev-alice"}

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            created = await asyncio.gather(
                *(
                    client.post(
                        "/games/v1/rooms/create",
                        json={"invitedPlayerIds": [f"p{n}"], "requestId": "5"},
                        headers=headers,
                    )
                    for n in range(6)
                )
            )
            refused = await client.post(
                "/games/v1/rooms/create", json={"invitedPlayerIds": ["alice"]}, headers=headers
            )
            return [*created, refused]

    try:
        *created, refused = asyncio.run(go())
    finally:
        app.close()
    assert [r.status_code for r in created] == [200] * 6
    assert len({r.json()["roomId"] for r in created}) == 1  # one requestId, one room
    assert refused.status_code == 400
    assert refused.json()["error"]["errors"][0]["reason"] == "invalid"
    with pytest.raises(StoreError):
        asyncio.run(app.writer.call(str))

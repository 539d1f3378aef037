"""Concurrent requests on one SQLite file: threads, processes and HTTP clients racing."""

from __future__ import annotations

import json
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rooms_api.models import RoomAutoMatchingCriteria, RoomCreateRequest

from rooms_kit.reference_server import RoomService, SqliteStore
from tests.reference_server import racers
from tests.reference_server.support import ServerProcess

RACERS = 16
FOUR_PLAYER_GAME = {"autoMatchingCriteria": {"minAutoMatchingPlayers": 3}}


def all_rooms(database: Path) -> list[dict[str, Any]]:
    store = SqliteStore(database)
    try:
        with store.read() as tx:
            rows = tx.execute("SELECT document FROM rooms").fetchall()  # type: ignore[attr-defined]
    finally:
        store.close()
    return [json.loads(document) for (document,) in rows]


def prepare_last_slot(database: Path) -> str:
    """A four-player room waiting for its last player; returns its id."""
    store = SqliteStore(database)
    try:
        service = RoomService(store)
        host = service.create(
            "host",
            {"autoMatchingCriteria": {"minAutoMatchingPlayers": 1, "maxAutoMatchingPlayers": 3}},
        )
        for player in ("early1", "early2"):
            assert service.create(player, FOUR_PLAYER_GAME)["roomId"] == host["roomId"]
        return str(host["roomId"])
    finally:
        store.close()


def check_invariants(database: Path, host_id: str, racer_rooms: dict[str, str]) -> None:
    rooms = {room["room_id"]: room for room in all_rooms(database)}
    assert len(racer_rooms) == RACERS
    # exactly one racer got the last slot of the host room
    assert sum(1 for room_id in racer_rooms.values() if room_id == host_id) == 1
    for player, room_id in racer_rooms.items():
        players = [p["player_id"] for p in rooms[room_id]["participants"]]
        assert players.count(player) == 1
    placed = [p["player_id"] for room in rooms.values() for p in room["participants"]]
    assert len(placed) == len(set(placed)) == RACERS + 3
    for room in rooms.values():
        assert len(room["participants"]) <= 4
        assert room["slots_used"] <= room["criteria"]["max_players"]
        assert room["slots_used"] == sum(p["auto_matched"] for p in room["participants"])
    # matching is serial: at most one room is still waiting for players
    assert sum(1 for room in rooms.values() if len(room["participants"]) < 4) <= 1
    for room in rooms.values():
        versions_seen = room["version"]
        assert versions_seen == len(room["participants"])  # one version per arrival


def test_threads_race_for_the_last_slot(tmp_path: Path) -> None:
    """R-concurrency-1 R-match-3"""
    database = tmp_path / "rooms.db"
    host_id = prepare_last_slot(database)
    start = threading.Barrier(RACERS)
    store = SqliteStore(database)
    try:
        service = RoomService(store)

        def race(player: str) -> str:
            start.wait(racers.BARRIER_SECONDS)
            return str(service.create(player, FOUR_PLAYER_GAME)["roomId"])

        players = [f"racer{i}" for i in range(RACERS)]
        with ThreadPoolExecutor(RACERS) as pool:
            rooms = dict(zip(players, pool.map(race, players), strict=True))
    finally:
        store.close()
    check_invariants(database, host_id, rooms)


def test_processes_race_for_the_last_slot(tmp_path: Path) -> None:
    """R-concurrency-1 R-match-3"""
    database = tmp_path / "rooms.db"
    host_id = prepare_last_slot(database)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(RACERS)
        players = [f"racer{i}" for i in range(RACERS)]
        jobs = [(str(database), player, FOUR_PLAYER_GAME, start) for player in players]
        with context.Pool(RACERS) as pool:
            rooms = dict(zip(players, pool.map(racers.create_in_process, jobs), strict=True))
    check_invariants(database, host_id, rooms)


def test_parallel_retries_of_one_create_make_one_room(tmp_path: Path) -> None:
    """R-concurrency-1 R-create-7"""
    database = tmp_path / "rooms.db"
    body = {"invitedPlayerIds": ["bob"], "requestId": "4242"}
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(8)
        jobs = [(str(database), "alice", body, start) for _ in range(8)]
        with context.Pool(8) as pool:
            from_processes = set(pool.map(racers.create_in_process, jobs))
    threads_start = threading.Barrier(8)
    with ThreadPoolExecutor(8) as pool:
        from_threads = set(
            pool.map(lambda _: racers.create(str(database), "alice", body, threads_start), range(8))
        )
    assert len(from_processes) == 1
    assert from_threads == from_processes
    assert len(all_rooms(database)) == 1


def test_http_clients_race_for_the_last_slot(tmp_path: Path) -> None:
    """R-concurrency-1 R-match-3"""
    database = tmp_path / "rooms.db"
    host_id = prepare_last_slot(database)
    start = threading.Barrier(RACERS)
    criteria = RoomAutoMatchingCriteria(min_auto_matching_players=3)
    with ServerProcess("--dev-tokens", "--database", str(database), cwd=tmp_path) as server:

        def race(player: str) -> str:
            with server.client(player) as client:
                start.wait(racers.BARRIER_SECONDS)
                room = client.create(RoomCreateRequest(auto_matching_criteria=criteria))
            return room.room_id or ""

        players = [f"racer{i}" for i in range(RACERS)]
        with ThreadPoolExecutor(RACERS) as pool:
            rooms = dict(zip(players, pool.map(race, players), strict=True))
        assert server.terminate() == 0
    check_invariants(database, host_id, rooms)

"""Ids no real client sends, on both stores: each gets the answer an unknown id gets, and the
store is healthy afterwards. PostgreSQL text cannot hold NUL, SQLite can; the answers must not
differ (R-errors-1: never a 500 for a client's mistake)."""

from __future__ import annotations

import pytest

from rooms_kit.reference_server import RoomNotFound
from tests.reference_server.conftest import CheckedService

ROOM_IDS = ["abc\x00def", "\x00", "a\\0b", "\\", "x" * 300, "é😀", "' OR 1=1 --", "%00"]


@pytest.mark.parametrize("room_id", ROOM_IDS)
@pytest.mark.parametrize("operation", ["get", "join", "leave", "decline", "dismiss", "report"])
def test_hostile_room_ids_are_not_found(
    service: CheckedService, room_id: str, operation: str
) -> None:
    """R-errors-1"""
    calls = {
        "get": lambda: service.get("alice", room_id),
        "join": lambda: service.join("alice", room_id, {}),
        "leave": lambda: service.leave("alice", room_id, {}),
        "decline": lambda: service.decline("alice", room_id),
        "dismiss": lambda: service.dismiss("alice", room_id),
        "report": lambda: service.report_status("alice", room_id, {"updates": []}),
    }
    with pytest.raises(RoomNotFound):
        calls[operation]()
    room = service.create("alice", {"invitedPlayerIds": ["bob"]})
    assert service.get("bob", room["roomId"])["roomId"] == room["roomId"]


def test_hostile_invited_ids_are_kept_exactly_and_list_nobody_else(
    service: CheckedService,
) -> None:
    """R-errors-1 R-create-2"""
    strange = ["bo\x00b", "bo\\0b", "bo\\b", "bob"]
    room = service.create("alice", {"invitedPlayerIds": strange})
    invited = [
        p["player"]["playerId"]
        for p in room["participants"]
        if p["status"] == "PARTICIPANT_INVITED"
    ]
    assert invited == strange
    assert [r["roomId"] for r in service.list("bob")["items"]] == [room["roomId"]]
    assert service.list("alice")["items"] == []
    again = service.get("alice", room["roomId"])
    assert [p["player"]["playerId"] for p in again["participants"]][1:] == strange

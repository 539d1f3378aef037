"""Room status, version numbers, update details and the modification clock."""

from __future__ import annotations

from typing import Any

import pytest

from rooms_kit.reference_server import Conflict
from tests.reference_server.conftest import CheckedService, ManualClock, participant

UP = "CONNECTION_ESTABLISHED"
DOWN = "CONNECTION_FAILED"
ORDER = ["ROOM_INVITING", "ROOM_AUTO_MATCHING", "ROOM_CONNECTING", "ROOM_ACTIVE", "ROOM_DELETED"]


def link(service: CheckedService, player: str, room_id: str, peer_id: str, status: str) -> Any:
    return service.report_status(
        player, room_id, {"updates": [{"participantId": peer_id, "status": status}]}
    )


def test_status_walks_the_whole_way(service: CheckedService) -> None:
    """R-status-1"""
    room = service.create(
        "alice",
        {"invitedPlayerIds": ["bob"], "autoMatchingCriteria": {"minAutoMatchingPlayers": 1}},
    )
    room_id = room["roomId"]
    seen = [room["status"]]
    seen.append(service.join("bob", room_id, {})["status"])
    matched = service.create("carol", {"autoMatchingCriteria": {"minAutoMatchingPlayers": 2}})
    assert matched["roomId"] == room_id
    seen.append(matched["status"])
    ids = {p: participant(service.get(p, room_id), p)["id"] for p in ("alice", "bob", "carol")}
    link(service, "alice", room_id, ids["bob"], UP)
    link(service, "alice", room_id, ids["carol"], UP)
    seen.append(link(service, "bob", room_id, ids["carol"], UP)["status"])
    for player in ("alice", "bob"):
        seen.append(service.leave(player, room_id, {})["status"])
    seen.append(service.leave("carol", room_id, {})["status"])
    assert seen == [
        "ROOM_INVITING",
        "ROOM_AUTO_MATCHING",
        "ROOM_CONNECTING",
        "ROOM_ACTIVE",
        "ROOM_ACTIVE",
        "ROOM_ACTIVE",
        "ROOM_DELETED",
    ]


def test_status_never_moves_backwards(service: CheckedService) -> None:
    """R-status-1"""
    room = service.create("alice", {"invitedPlayerIds": ["bob"]})
    room_id = room["roomId"]
    joined = service.join("bob", room_id, {})
    assert joined["status"] == "ROOM_CONNECTING"
    bob = participant(joined, "bob")["id"]
    assert link(service, "alice", room_id, bob, UP)["status"] == "ROOM_ACTIVE"
    after_failure = link(service, "alice", room_id, bob, DOWN)
    assert after_failure["status"] == "ROOM_ACTIVE"
    assert [p["connected"] for p in after_failure["participants"]] == [False, False]


def test_an_answered_invitation_can_make_a_room_active(service: CheckedService) -> None:
    """R-status-1"""
    room_id = service.create("alice", {"invitedPlayerIds": ["bob", "carol"]})["roomId"]
    bob = participant(service.join("bob", room_id, {}), "bob")["id"]
    assert link(service, "alice", room_id, bob, UP)["status"] == "ROOM_INVITING"
    assert service.decline("carol", room_id)["status"] == "ROOM_ACTIVE"


def test_a_deleted_room_refuses_every_write(service: CheckedService) -> None:
    """R-status-1"""
    room_id = service.create("alice", {"invitedPlayerIds": ["bob"]})["roomId"]
    assert service.leave("alice", room_id, {})["status"] == "ROOM_DELETED"
    for write in (
        lambda: service.join("bob", room_id, {}),
        lambda: service.decline("bob", room_id),
        lambda: service.report_status("alice", room_id, {}),
    ):
        with pytest.raises(Conflict):
            write()
    assert service.get("bob", room_id)["status"] == "ROOM_DELETED"
    assert service.leave("alice", room_id, {})["status"] == "ROOM_DELETED"  # no-op
    service.dismiss("bob", room_id)
    assert service.get("bob", room_id)["roomStatusVersion"] == 2


def test_every_change_and_only_a_change_adds_one_to_the_version(
    service: CheckedService,
) -> None:
    """R-version-1"""
    room = service.create("alice", {"invitedPlayerIds": ["bob", "carol"]})
    room_id = room["roomId"]
    assert room["roomStatusVersion"] == 1
    versions = [1]
    joined = service.join("bob", room_id, {})
    versions.append(joined["roomStatusVersion"])
    bob = participant(joined, "bob")["id"]
    versions.append(link(service, "alice", room_id, bob, UP)["statusVersion"])
    versions.append(link(service, "alice", room_id, bob, UP)["statusVersion"])  # same report
    versions.append(service.join("bob", room_id, {})["roomStatusVersion"])  # already joined
    service.dismiss("carol", room_id)
    versions.append(service.get("alice", room_id)["roomStatusVersion"])
    versions.append(service.decline("carol", room_id)["roomStatusVersion"])
    versions.append(service.decline("carol", room_id)["roomStatusVersion"])
    versions.append(service.join("bob", room_id, {"capabilities": ["new"]})["roomStatusVersion"])
    versions.append(service.leave("bob", room_id, {})["roomStatusVersion"])
    versions.append(service.leave("bob", room_id, {})["roomStatusVersion"])
    assert versions == [1, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5]


def test_updates_name_who_changed_the_room_and_when(
    service: CheckedService, clock: ManualClock
) -> None:
    """R-version-2"""
    room = service.create("alice", {"invitedPlayerIds": ["bob"]})
    clock.now += 5000
    joined = service.join("bob", room["roomId"], {})
    assert joined["lastUpdateDetails"] == {
        "kind": "games#roomModification",
        "participantId": participant(joined, "bob")["id"],
        "modifiedTimestampMillis": str(clock.now),
    }
    assert joined["creationDetails"] == room["creationDetails"]
    clock.now += 5000
    again = service.join("bob", room["roomId"], {})
    assert again["lastUpdateDetails"] == joined["lastUpdateDetails"]


def test_modification_times_never_repeat(service: CheckedService, clock: ManualClock) -> None:
    """R-time-1"""
    stamps = []
    room_id = service.create("alice", {"invitedPlayerIds": ["bob", "carol"]})["roomId"]
    stamps.append(
        int(service.get("alice", room_id)["lastUpdateDetails"]["modifiedTimestampMillis"])
    )
    stamps.append(
        int(service.join("bob", room_id, {})["lastUpdateDetails"]["modifiedTimestampMillis"])
    )
    clock.now -= 60_000  # the wall clock jumps back
    stamps.append(
        int(service.decline("carol", room_id)["lastUpdateDetails"]["modifiedTimestampMillis"])
    )
    other = service.create("dave", {"invitedPlayerIds": ["erin"]})
    stamps.append(int(other["creationDetails"]["modifiedTimestampMillis"]))
    assert stamps == [clock.now + 60_000 + i for i in range(4)]

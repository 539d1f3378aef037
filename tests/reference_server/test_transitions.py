"""join, decline, dismiss, leave, get, and what callers who are not participants see."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from rooms_kit.reference_server import Conflict, InvalidRequest, RoomNotFound
from rooms_kit.reference_server.leave_reasons import LEAVE_REASONS
from rooms_kit.schemas import SchemaSet
from tests.reference_server.conftest import CheckedService, participant

LEAVE_TABLE = {
    "PLAYER_LEFT": "PLAYER_LEFT",
    "GAME_LEFT": "GAME_LEFT",
    "REALTIME_ABANDONED": "ABANDONED",
    "REALTIME_PEER_CONNECTION_FAILURE": "PEER_CONNECTION_FAILURE",
    "REALTIME_SERVER_CONNECTION_FAILURE": "PRESENCE_FAILURE",
    "REALTIME_SERVER_ERROR": "SERVER_ERROR",
    "REALTIME_TIMEOUT": "TIMEOUT",
    "REALTIME_CLIENT_DISCONNECTING": "PRESENCE_FAILURE",
    "REALTIME_SIGN_OUT": "PLAYER_LEFT",
    "REALTIME_GAME_CRASHED": "GAME_LEFT",
    "REALTIME_ROOM_SERVICE_CRASHED": "GAME_LEFT",
    "REALTIME_DIFFERENT_CLIENT_ROOM_OPERATION": "ABANDONED",
    "REALTIME_SAME_CLIENT_ROOM_OPERATION": "ABANDONED",
}


def invite(service: CheckedService, *invited: str) -> str:
    return str(service.create("alice", {"invitedPlayerIds": list(invited)})["roomId"])


def test_an_invited_player_joins(service: CheckedService) -> None:
    """R-join-1"""
    room_id = invite(service, "bob")
    room = service.join(
        "bob",
        room_id,
        {"capabilities": ["x"], "clientAddress": {"xmppAddress": "bob@x/2"}},
    )
    me = participant(room, "bob")
    assert me["status"] == "PARTICIPANT_JOINED"
    assert me["capabilities"] == ["x"]
    assert me["clientAddress"]["xmppAddress"] == "bob@x/2"
    again = service.join("bob", room_id, {})
    assert again["roomStatusVersion"] == room["roomStatusVersion"]
    assert participant(again, "bob")["capabilities"] == ["x"]


def test_an_auto_matched_player_joining_changes_nothing(service: CheckedService) -> None:
    """R-join-1"""
    service.create("alice", {"autoMatchingCriteria": {"maxAutoMatchingPlayers": 2}})
    room = service.create("bob", {"autoMatchingCriteria": {"minAutoMatchingPlayers": 2}})
    joined = service.join("bob", room["roomId"], None)
    assert joined["roomStatusVersion"] == room["roomStatusVersion"]
    assert (
        service.join("alice", room["roomId"], {})["roomStatusVersion"] == room["roomStatusVersion"]
    )


def test_joining_after_declining_leaving_or_deletion_is_a_conflict(
    service: CheckedService,
) -> None:
    """R-join-2"""
    room_id = invite(service, "bob", "carol", "dave")
    service.decline("bob", room_id)
    with pytest.raises(Conflict):
        service.join("bob", room_id, {})
    service.join("carol", room_id, {})
    service.leave("carol", room_id, {})
    with pytest.raises(Conflict):
        service.join("carol", room_id, {})
    service.leave("alice", room_id, {})
    assert service.get("dave", room_id)["status"] == "ROOM_DELETED"
    with pytest.raises(Conflict, match="deleted"):
        service.join("dave", room_id, {})


def test_an_invited_player_declines(service: CheckedService) -> None:
    """R-decline-1"""
    room_id = invite(service, "bob", "carol")
    room = service.decline("bob", room_id)
    assert participant(room, "bob")["status"] == "PARTICIPANT_DECLINED"
    assert service.decline("bob", room_id)["roomStatusVersion"] == room["roomStatusVersion"]
    service.join("carol", room_id, {})
    with pytest.raises(Conflict):
        service.decline("carol", room_id)
    with pytest.raises(Conflict):
        service.decline("alice", room_id)
    other = invite(service, "erin")
    service.leave("alice", other, {})
    with pytest.raises(Conflict, match="deleted"):
        service.decline("erin", other)


def test_dismiss_hides_the_invitation_and_nothing_else(service: CheckedService) -> None:
    """R-dismiss-1"""
    room_id = invite(service, "bob")
    before = service.get("alice", room_id)
    assert [r["roomId"] for r in service.list("bob")["items"]] == [room_id]
    assert service.dismiss("bob", room_id) is None
    assert service.list("bob")["items"] == []
    service.dismiss("bob", room_id)
    after = service.get("bob", room_id)
    assert after["roomStatusVersion"] == before["roomStatusVersion"]
    assert participant(after, "bob")["status"] == "PARTICIPANT_INVITED"
    assert participant(service.join("bob", room_id, {}), "bob")["status"] == "PARTICIPANT_JOINED"


def test_dismissed_invitations_stay_hidden_after_declining(service: CheckedService) -> None:
    """R-dismiss-1"""
    room_id = invite(service, "bob")
    service.dismiss("bob", room_id)
    service.decline("bob", room_id)
    service.dismiss("bob", room_id)
    assert service.list("bob")["items"] == []


def test_only_invitations_can_be_dismissed(service: CheckedService) -> None:
    """R-dismiss-1"""
    room_id = invite(service, "bob")
    with pytest.raises(Conflict):
        service.dismiss("alice", room_id)
    service.create("carol", {"autoMatchingCriteria": {}})
    matched = service.create("dave", {"autoMatchingCriteria": {}})
    with pytest.raises(Conflict):
        service.dismiss("dave", matched["roomId"])


@pytest.mark.parametrize(("reason", "expected"), sorted(LEAVE_TABLE.items()))
def test_leave_reasons_are_mapped(service: CheckedService, reason: str, expected: str) -> None:
    """R-leave-1"""
    room_id = invite(service, "bob")
    service.join("bob", room_id, {})
    room = service.leave("bob", room_id, {"kind": "games#roomLeaveRequest", "reason": reason})
    me = participant(room, "bob")
    assert me["status"] == "PARTICIPANT_LEFT"
    assert me["leaveReason"] == expected
    assert me["connected"] is False


def test_the_leave_table_covers_both_enumerations(schemas: SchemaSet) -> None:
    """R-leave-1"""
    common = json.loads((schemas.directory / "common.schema.json").read_text(encoding="utf-8"))
    assert LEAVE_REASONS == LEAVE_TABLE
    assert set(LEAVE_TABLE) == set(common["$defs"]["leaveRequestReason"]["enum"])
    assert set(LEAVE_TABLE.values()) == set(common["$defs"]["leaveReason"]["enum"])


def test_leave_defaults_repeats_and_refusals(service: CheckedService) -> None:
    """R-leave-1"""
    room_id = invite(service, "bob", "carol", "dave")
    service.join("bob", room_id, {})
    room = service.leave("bob", room_id, None)
    assert participant(room, "bob")["leaveReason"] == "PLAYER_LEFT"
    assert service.leave("bob", room_id, {})["roomStatusVersion"] == room["roomStatusVersion"]
    with pytest.raises(Conflict):
        service.leave("carol", room_id, {})
    service.decline("dave", room_id)
    with pytest.raises(Conflict):
        service.leave("dave", room_id, {})
    with pytest.raises(InvalidRequest):
        service.leave("alice", room_id, {"reason": "BORED"})


def test_participants_of_any_status_can_get_the_room(service: CheckedService) -> None:
    """R-get-1"""
    room_id = invite(service, "bob", "carol", "dave")
    service.decline("bob", room_id)
    service.join("carol", room_id, {})
    service.leave("carol", room_id, {})
    for player in ("alice", "bob", "carol", "dave"):
        assert service.get(player, room_id)["roomId"] == room_id
    service.leave("alice", room_id, {})
    tombstone = service.get("alice", room_id)
    assert tombstone["status"] == "ROOM_DELETED"


def _operations(service: CheckedService) -> dict[str, Callable[[str, str], Any]]:
    return {
        "get": service.get,
        "join": lambda p, r: service.join(p, r, {}),
        "decline": service.decline,
        "dismiss": service.dismiss,
        "leave": lambda p, r: service.leave(p, r, {}),
        "report_status": lambda p, r: service.report_status(p, r, {"updates": []}),
    }


@pytest.mark.parametrize(
    "operation", ["get", "join", "decline", "dismiss", "leave", "report_status"]
)
def test_strangers_cannot_tell_a_room_from_no_room(service: CheckedService, operation: str) -> None:
    """R-hide-1"""
    room_id = invite(service, "bob")
    call = _operations(service)[operation]
    messages = []
    for target in (room_id, "no-such-room"):
        with pytest.raises(RoomNotFound) as caught:
            call("eve", target)
        messages.append(caught.value.message.replace(target, "<id>"))
    assert messages[0] == messages[1] == "Room not found: <id>"

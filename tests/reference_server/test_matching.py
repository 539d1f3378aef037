"""Auto-matching: who is placed where, capacity, status and anonymity."""

from __future__ import annotations

from typing import Any

from tests.reference_server.conftest import CheckedService, participant


def criteria(
    minimum: int = 1,
    maximum: int | None = None,
    bitmask: str | None = None,
    variant: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"minAutoMatchingPlayers": minimum}
    if maximum is not None:
        body["maxAutoMatchingPlayers"] = maximum
    if bitmask is not None:
        body["exclusiveBitmask"] = bitmask
    request: dict[str, Any] = {"autoMatchingCriteria": body}
    if variant is not None:
        request["variant"] = variant
    return request


def test_compatible_creators_share_a_room(service: CheckedService) -> None:
    """R-match-1"""
    host = service.create("alice", criteria())
    guest = service.create("bob", criteria())
    assert guest["roomId"] == host["roomId"]


def test_variants_must_be_equal(service: CheckedService) -> None:
    """R-match-1"""
    host = service.create("alice", criteria(variant=2))
    assert service.create("bob", criteria(variant=3))["roomId"] != host["roomId"]
    assert service.create("carol", criteria())["roomId"] != host["roomId"]
    assert service.create("dave", criteria(variant=2))["roomId"] == host["roomId"]


def test_bitmasks_must_and_to_zero_with_every_matched_player(service: CheckedService) -> None:
    """R-match-1"""
    host = service.create("alice", criteria(maximum=3, bitmask="1"))
    assert service.create("bob", criteria(3, bitmask="3"))["roomId"] != host["roomId"]
    assert service.create("carol", criteria(3, bitmask="2"))["roomId"] == host["roomId"]
    # 4 & 1 == 0 but 6 & 2 != 0: carol, already in the room, blocks dave
    assert service.create("dave", criteria(3, bitmask="6"))["roomId"] != host["roomId"]
    assert service.create("erin", criteria(3, bitmask="4"))["roomId"] == host["roomId"]


def test_the_newcomer_range_must_contain_the_full_room(service: CheckedService) -> None:
    """R-match-1"""
    host = service.create("alice", criteria(1, 3))  # full room: alice + 3 others
    assert service.create("bob", criteria(1, 1))["roomId"] != host["roomId"]
    assert service.create("carol", criteria(4, 5))["roomId"] != host["roomId"]
    assert service.create("dave", criteria(2, 3))["roomId"] == host["roomId"]


def test_requests_with_invitations_get_their_own_room(service: CheckedService) -> None:
    """R-match-1"""
    host = service.create("alice", criteria())
    own = service.create("bob", {**criteria(), "invitedPlayerIds": ["carol"]})
    assert own["roomId"] != host["roomId"]
    # ... whose free slot others may fill: the full room holds carol and one more
    assert service.create("dave", criteria(2))["roomId"] == own["roomId"]


def test_nobody_is_matched_into_a_room_they_are_in(service: CheckedService) -> None:
    """R-match-1"""
    first = service.create("alice", criteria())
    second = service.create("alice", criteria())
    assert second["roomId"] != first["roomId"]
    invited = service.create("carol", {**criteria(), "invitedPlayerIds": ["bob"]})
    assert service.create("bob", criteria(2))["roomId"] != invited["roomId"]


def test_the_oldest_compatible_room_is_chosen(service: CheckedService) -> None:
    """R-match-1"""
    older = service.create("alice", criteria(variant=1))
    service.create("bob", {**criteria(variant=1), "invitedPlayerIds": ["zed"]})
    assert service.create("carol", criteria(variant=1))["roomId"] == older["roomId"]


def test_the_newcomer_joins_as_an_auto_matched_participant(service: CheckedService) -> None:
    """R-match-2"""
    host = service.create("alice", criteria(1, 2, bitmask="1"))
    guest = service.create("bob", criteria(2, bitmask="2", variant=None))
    me = participant(guest, "bob")
    assert me["status"] == "PARTICIPANT_JOINED"
    assert me["autoMatched"] is True
    assert guest["roomStatusVersion"] == host["roomStatusVersion"] + 1
    assert guest["lastUpdateDetails"]["participantId"] == me["id"]
    assert guest["creationDetails"] == host["creationDetails"]


def test_capacity_is_respected_and_slots_do_not_reopen(service: CheckedService) -> None:
    """R-match-3"""
    host = service.create("alice", criteria(1, 2))
    rooms = [service.create(name, criteria(2))["roomId"] for name in ("bob", "carol", "dave")]
    assert rooms[:2] == [host["roomId"]] * 2
    assert rooms[2] != host["roomId"]
    full = service.get("alice", host["roomId"])
    assert len(full["participants"]) == 3
    assert full["status"] == "ROOM_CONNECTING"
    service.leave("bob", host["roomId"], {})
    assert service.create("erin", criteria(2))["roomId"] != host["roomId"]


def test_auto_matching_status_is_shown_while_slots_are_free(service: CheckedService) -> None:
    """R-match-4"""
    host = service.create("alice", criteria(1, 2))
    assert host["status"] == "ROOM_AUTO_MATCHING"
    assert host["autoMatchingStatus"] == {
        "kind": "games#roomAutoMatchStatus",
        "waitEstimateSeconds": 60,
    }
    one = service.create("bob", criteria(2))
    assert one["autoMatchingStatus"]["waitEstimateSeconds"] == 30
    full = service.create("carol", criteria(2))
    assert "autoMatchingStatus" not in full
    invitations_only = service.create("dave", {"invitedPlayerIds": ["erin"]})
    assert "autoMatchingStatus" not in invitations_only


def test_auto_matched_players_are_anonymous_to_others(service: CheckedService) -> None:
    """R-match-5"""
    host = service.create("alice", criteria(1, 2))
    service.create("bob", criteria(2))
    room = service.create("carol", criteria(2))
    seen_by_alice = service.get("alice", host["roomId"])
    second, third = seen_by_alice["participants"][1:]
    assert "player" not in second
    assert second["autoMatchedPlayer"] == {
        "kind": "games#anonymousPlayer",
        "displayName": "Player 2",
    }
    assert third["autoMatchedPlayer"]["displayName"] == "Player 3"
    assert seen_by_alice["participants"][0]["player"]["playerId"] == "alice"
    seen_by_carol = room
    assert seen_by_carol["participants"][2]["player"]["playerId"] == "carol"
    assert "player" not in seen_by_carol["participants"][1]
    assert seen_by_carol["participants"][0]["player"]["playerId"] == "alice"

"""create: the creator, invitations, validation, idempotency, the application id."""

from __future__ import annotations

import pytest

from rooms_kit.reference_server import InvalidRequest, RoomNotFound, RoomService
from rooms_kit.reference_server.sqlite_store import SqliteStore
from tests.reference_server.conftest import CheckedService, ManualClock, participant, statuses


def test_creator_joins_and_is_named_in_the_details(service: CheckedService) -> None:
    """R-create-1"""
    room = service.create("alice", {"invitedPlayerIds": ["bob"]})
    me = participant(room, "alice")
    assert me["status"] == "PARTICIPANT_JOINED"
    assert me["id"].startswith("p_")
    assert room["creationDetails"]["participantId"] == me["id"]
    assert room["lastUpdateDetails"]["participantId"] == me["id"]
    assert room["creationDetails"]["modifiedTimestampMillis"] == "1700000000000"
    assert room["lastUpdateDetails"]["modifiedTimestampMillis"] == "1700000000000"
    assert room["roomStatusVersion"] == 1
    assert room["roomId"]


def test_invited_players_become_invited_participants(service: CheckedService) -> None:
    """R-create-2"""
    room = service.create("alice", {"invitedPlayerIds": ["bob", "carol"]})
    assert statuses(room) == ["PARTICIPANT_JOINED", "PARTICIPANT_INVITED", "PARTICIPANT_INVITED"]
    assert participant(room, "bob")["status"] == "PARTICIPANT_INVITED"
    ids = [p["id"] for p in room["participants"]]
    assert len(set(ids)) == 3


@pytest.mark.parametrize("invited", [["alice"], ["bob", "bob"], [""], "bob", [1]], ids=str)
def test_bad_invitation_lists_are_refused(service: CheckedService, invited: object) -> None:
    """R-create-2"""
    with pytest.raises(InvalidRequest):
        service.create("alice", {"invitedPlayerIds": invited})


def test_a_room_needs_someone_besides_its_creator(service: CheckedService) -> None:
    """R-create-3"""
    with pytest.raises(InvalidRequest, match="invitedPlayerIds or autoMatchingCriteria"):
        service.create("alice", {})
    with pytest.raises(InvalidRequest):
        service.create("alice", {"invitedPlayerIds": []})


def test_a_room_holds_at_most_eight_players(service: CheckedService) -> None:
    """R-create-4"""
    seven = [f"p{i}" for i in range(7)]
    assert len(service.create("alice", {"invitedPlayerIds": seven})["participants"]) == 8
    with pytest.raises(InvalidRequest, match="at most 8"):
        service.create("alice", {"invitedPlayerIds": [*seven, "p7"]})
    with pytest.raises(InvalidRequest, match="at most 8"):
        service.create(
            "alice",
            {
                "invitedPlayerIds": ["a", "b", "c"],
                "autoMatchingCriteria": {"minAutoMatchingPlayers": 1, "maxAutoMatchingPlayers": 5},
            },
        )


def test_auto_matching_criteria_defaults_are_filled_and_echoed(service: CheckedService) -> None:
    """R-create-5"""
    room = service.create("alice", {"autoMatchingCriteria": {}})
    assert room["autoMatchingCriteria"] == {
        "kind": "games#roomAutoMatchingCriteria",
        "minAutoMatchingPlayers": 1,
        "maxAutoMatchingPlayers": 1,
        "exclusiveBitmask": "0",
    }
    room = service.create(
        "bob",
        {"autoMatchingCriteria": {"minAutoMatchingPlayers": 2, "exclusiveBitmask": "12"}},
    )
    assert room["autoMatchingCriteria"]["maxAutoMatchingPlayers"] == 2
    assert room["autoMatchingCriteria"]["exclusiveBitmask"] == "12"


@pytest.mark.parametrize(
    "criteria",
    [
        {"minAutoMatchingPlayers": 0},
        {"minAutoMatchingPlayers": 3, "maxAutoMatchingPlayers": 2},
        {"exclusiveBitmask": "01"},
        {"exclusiveBitmask": 3},
        {"maxAutoMatchingPlayers": True},
    ],
    ids=str,
)
def test_broken_criteria_are_refused(service: CheckedService, criteria: dict[str, object]) -> None:
    """R-create-5"""
    with pytest.raises(InvalidRequest):
        service.create("alice", {"autoMatchingCriteria": criteria})


def test_variant_capabilities_and_address_are_kept(service: CheckedService) -> None:
    """R-create-6"""
    room = service.create(
        "alice",
        {
            "invitedPlayerIds": ["bob"],
            "variant": 3,
            "capabilities": ["reliable_messaging"],
            "clientAddress": {"kind": "games#roomClientAddress", "xmppAddress": "a@x/1"},
            "networkDiagnostics": {"kind": "games#networkDiagnostics", "iosNetworkType": 1},
        },
    )
    assert room["variant"] == 3
    me = participant(room, "alice")
    assert me["capabilities"] == ["reliable_messaging"]
    assert me["clientAddress"]["xmppAddress"] == "a@x/1"
    plain = service.create("alice", {"invitedPlayerIds": ["bob"]})
    assert "variant" not in plain
    assert "capabilities" not in participant(plain, "alice")


def test_a_retried_create_returns_the_same_room(service: CheckedService) -> None:
    """R-create-7"""
    first = service.create("alice", {"invitedPlayerIds": ["bob"], "requestId": "77"})
    again = service.create("alice", {"invitedPlayerIds": ["carol"], "requestId": "77"})
    assert again["roomId"] == first["roomId"]
    assert again["roomStatusVersion"] == first["roomStatusVersion"]
    assert [p["player"]["playerId"] for p in again["participants"]] == ["alice", "bob"]
    other_player = service.create("bob", {"invitedPlayerIds": ["alice"], "requestId": "77"})
    assert other_player["roomId"] != first["roomId"]
    other_request = service.create("alice", {"invitedPlayerIds": ["bob"], "requestId": "78"})
    assert other_request["roomId"] != first["roomId"]
    without = [service.create("alice", {"invitedPlayerIds": ["bob"]}) for _ in range(2)]
    assert without[0]["roomId"] != without[1]["roomId"]


def test_a_retried_auto_matched_create_returns_the_room_it_joined(
    service: CheckedService,
) -> None:
    """R-create-7"""
    host = service.create("alice", {"autoMatchingCriteria": {"maxAutoMatchingPlayers": 2}})
    body = {"autoMatchingCriteria": {"minAutoMatchingPlayers": 2}, "requestId": "-5"}
    placed = service.create("bob", body)
    assert placed["roomId"] == host["roomId"]
    again = service.create("bob", body)
    assert again["roomId"] == host["roomId"]
    assert again["roomStatusVersion"] == placed["roomStatusVersion"]
    assert len(again["participants"]) == 2


def test_rooms_carry_and_are_separated_by_the_application_id(
    store: SqliteStore, clock: ManualClock
) -> None:
    """R-app-1"""
    first = RoomService(store, application_id="app-one", wall_clock=clock)
    second = RoomService(store, application_id="app-two", wall_clock=clock)
    room = first.create("alice", {"invitedPlayerIds": ["bob"], "requestId": "1"})
    assert room["applicationId"] == "app-one"
    waiting = first.create("carol", {"autoMatchingCriteria": {}})
    with pytest.raises(RoomNotFound):
        second.get("alice", room["roomId"])
    assert second.list("bob")["items"] == []
    assert first.list("bob")["items"][0]["roomId"] == room["roomId"]
    elsewhere = second.create("dave", {"autoMatchingCriteria": {}})
    assert elsewhere["roomId"] != waiting["roomId"]
    assert (
        second.create("alice", {"invitedPlayerIds": ["bob"], "requestId": "1"})["roomId"]
        != room["roomId"]
    )

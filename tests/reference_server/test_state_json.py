"""``RoomState.to_json`` is ``dataclasses.asdict`` written out: same data, same order, no sharing."""

from __future__ import annotations

import dataclasses
import json

from rooms_kit.reference_server.state import Criteria, Participant, RoomState


def sample_rooms() -> list[RoomState]:
    bare = RoomState("r1", "app", None, "ROOM_INVITING", 1, 10, "alice", 10, "alice")
    full = RoomState(
        "r2",
        "app",
        7,
        "ROOM_CONNECTING",
        4,
        10,
        "alice",
        20,
        "bob",
        criteria=Criteria(1, 3, 0x0F),
        slots_used=2,
        participants=[
            Participant("p_1", "alice", "PARTICIPANT_JOINED", connected=True),
            Participant(
                "p_2",
                "bob",
                "PARTICIPANT_LEFT",
                auto_matched=True,
                leave_reason="PLAYER_LEFT",
                capabilities=["a", "b"],
                xmpp_address="bob@example",
                bitmask=0x01,
            ),
        ],
        links={"p_1|p_2": "CONNECTION_ESTABLISHED"},
    )
    return [bare, full]


def test_to_json_equals_asdict_key_for_key_and_in_order() -> None:
    for room in sample_rooms():
        data = room.to_json()
        expected = dataclasses.asdict(room)
        assert data == expected
        assert json.dumps(data) == json.dumps(expected)  # the same key order, at every level
        assert RoomState.from_json(data) == room


def test_to_json_shares_nothing_with_the_room() -> None:
    room = sample_rooms()[1]
    data = room.to_json()
    data["participants"][1]["capabilities"].append("c")
    data["participants"][0]["status"] = "changed"
    data["links"]["x|y"] = "z"
    data["criteria"]["bitmask"] = 0
    assert room == sample_rooms()[1]


def test_documents_round_trip_and_read_what_json_dumps_wrote() -> None:
    for room in sample_rooms():
        document = room.to_document()
        assert json.loads(document) == room.to_json()
        assert RoomState.from_document(document) == room
        # documents stored before orjson wrote them: ASCII escapes, same data
        older = json.dumps(room.to_json(), separators=(",", ":"))
        assert RoomState.from_document(older) == room


def test_what_orjson_refuses_is_still_stored_and_read_back() -> None:
    room = sample_rooms()[1]
    room.participants[1].player_id = "lone \udcff surrogate é"
    assert room.participants[1].bitmask is not None
    room.participants[1].bitmask = 2**70  # beyond 64 bits
    document = room.to_document()
    assert "\\udcff" in document
    assert RoomState.from_document(document) == room


def test_a_fingerprint_is_a_snapshot_that_sees_changes_but_not_version_or_dismissal() -> None:
    room = sample_rooms()[1]
    before = room.fingerprint()
    room.version += 1
    room.updated_ms += 5
    room.participants[0].dismissed = True
    assert room.fingerprint() == before
    room.links["p_1|p_2"] = "CONNECTION_FAILED"
    assert room.fingerprint() != before
    room.links["p_1|p_2"] = "CONNECTION_ESTABLISHED"
    room.participants[1].capabilities = ["a", "b", "c"]
    assert room.fingerprint() != before

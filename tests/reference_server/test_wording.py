"""Descriptions worded for the caller, languages, consistency tokens."""

from __future__ import annotations

import pytest

from rooms_kit.reference_server import InvalidRequest
from tests.reference_server.conftest import CheckedService


def test_descriptions_are_written_for_the_caller(service: CheckedService) -> None:
    """R-desc-1"""
    room_id = service.create(
        "alice",
        {"invitedPlayerIds": ["bob", "carol"], "autoMatchingCriteria": {}},
    )["roomId"]
    service.create("dave", {"autoMatchingCriteria": {"minAutoMatchingPlayers": 3}})
    service.decline("carol", room_id)
    assert service.get("alice", room_id)["description"] == "Your room"
    assert service.get("bob", room_id)["description"] == "Invitation from alice"
    assert service.get("carol", room_id)["description"] == "Invitation from alice (declined)"
    assert service.get("dave", room_id)["description"] == "Auto-matched game"


def test_inviter_id_is_shown_to_invited_callers_only(service: CheckedService) -> None:
    """R-desc-2"""
    room = service.create("alice", {"invitedPlayerIds": ["bob"], "autoMatchingCriteria": {}})
    matched = service.create("carol", {"autoMatchingCriteria": {"minAutoMatchingPlayers": 2}})
    creator_id = room["participants"][0]["id"]
    assert service.get("bob", room["roomId"])["inviterId"] == creator_id
    assert "inviterId" not in room
    assert "inviterId" not in matched


@pytest.mark.parametrize(
    ("language", "invitation", "anonymous"),
    [
        (None, "Invitation from alice", "Player 3"),
        ("en-GB", "Invitation from alice", "Player 3"),
        ("fr", "Invitation de alice", "Joueur 3"),
        ("FR-ca", "Invitation de alice", "Joueur 3"),
        ("de_DE", "Einladung von alice", "Spieler 3"),
        ("es-419", "Invitación de alice", "Jugador 3"),
        ("ja", "Invitation from alice", "Player 3"),
        ("", "Invitation from alice", "Player 3"),
    ],
)
def test_language_picks_the_wording(
    service: CheckedService, language: str | None, invitation: str, anonymous: str
) -> None:
    """R-lang-1"""
    room_id = service.create("alice", {"invitedPlayerIds": ["bob"], "autoMatchingCriteria": {}})[
        "roomId"
    ]
    service.create("carol", {"autoMatchingCriteria": {"minAutoMatchingPlayers": 2}})
    room = service.get("bob", room_id, language=language)
    assert room["description"] == invitation
    assert room["participants"][2]["autoMatchedPlayer"]["displayName"] == anonymous
    listed = service.list("bob", language=language)["items"][0]
    assert listed["description"] == invitation
    english = service.get("bob", room_id)
    for key in english:
        if key not in ("description", "participants"):
            assert room[key] == english[key]


@pytest.mark.parametrize("token", ["0", "-12", "9223372036854775807", "1700000000000"])
def test_well_formed_consistency_tokens_are_accepted(service: CheckedService, token: str) -> None:
    """R-consistency-1"""
    room = service.create("alice", {"invitedPlayerIds": ["bob"]}, consistency_token=token)
    seen = room["lastUpdateDetails"]["modifiedTimestampMillis"]
    assert service.get("bob", room["roomId"], consistency_token=seen) == service.get(
        "bob", room["roomId"]
    )
    assert service.list("bob", consistency_token=token)["items"][0]["roomId"] == room["roomId"]
    service.dismiss("bob", room["roomId"], consistency_token=token)


@pytest.mark.parametrize("token", ["", "abc", "01", "9223372036854775808", "1.5", " 1"])
def test_malformed_consistency_tokens_are_refused(service: CheckedService, token: str) -> None:
    """R-consistency-1"""
    room_id = service.create("alice", {"invitedPlayerIds": ["bob"]})["roomId"]
    with pytest.raises(InvalidRequest, match="consistencyToken"):
        service.get("bob", room_id, consistency_token=token)
    with pytest.raises(InvalidRequest, match="consistencyToken"):
        service.join("bob", room_id, {}, consistency_token=token)

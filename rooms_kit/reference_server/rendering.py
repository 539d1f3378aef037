"""A stored room turned into wire-format dicts (``games#room``, ``games#roomStatus``) for one caller.

What a caller sees depends on who they are: the description, ``inviterId`` and whether other
auto-matched players appear anonymously (docs/room-lifecycle.md, R-desc-1, R-desc-2, R-match-5).
"""

from __future__ import annotations

from typing import Any

from rooms_kit.reference_server.state import (
    DECLINED,
    LEFT,
    Participant,
    RoomState,
)
from rooms_kit.reference_server.wording import Phrases, phrases_for

SECONDS_PER_FREE_SLOT = 30


def render_room(room: RoomState, viewer: Participant, language: str | None) -> dict[str, Any]:
    """The ``games#room`` as ``viewer`` sees it."""
    phrases = phrases_for(language)
    wire: dict[str, Any] = {
        "kind": "games#room",
        "roomId": room.room_id,
        "applicationId": room.application_id,
        "status": room.status,
        "roomStatusVersion": room.version,
        "description": _description(room, viewer, phrases),
        "creationDetails": _modification(room.creator_id, room.created_ms),
        "lastUpdateDetails": _modification(room.updater_id, room.updated_ms),
        "participants": _participants(room, viewer, phrases),
    }
    if room.variant is not None:
        wire["variant"] = room.variant
    if viewer.invited:
        wire["inviterId"] = room.creator_id
    if room.criteria is not None:
        wire["autoMatchingCriteria"] = {
            "kind": "games#roomAutoMatchingCriteria",
            "minAutoMatchingPlayers": room.criteria.min_players,
            "maxAutoMatchingPlayers": room.criteria.max_players,
            "exclusiveBitmask": str(room.criteria.bitmask),
        }
    status = _auto_matching_status(room)
    if status is not None:
        wire["autoMatchingStatus"] = status
    return wire


def render_status(room: RoomState, viewer: Participant, language: str | None) -> dict[str, Any]:
    """The ``games#roomStatus`` answer of ``reportStatus``."""
    wire: dict[str, Any] = {
        "kind": "games#roomStatus",
        "roomId": room.room_id,
        "status": room.status,
        "statusVersion": room.version,
        "participants": _participants(room, viewer, phrases_for(language)),
    }
    status = _auto_matching_status(room)
    if status is not None:
        wire["autoMatchingStatus"] = status
    return wire


def _description(room: RoomState, viewer: Participant, phrases: Phrases) -> str:
    if viewer.participant_id == room.creator_id:
        return phrases.own_room
    if viewer.auto_matched:
        return phrases.auto_matched
    creator = room.creator.player_id
    if viewer.status == DECLINED:
        return phrases.invitation_declined.format(creator=creator)
    return phrases.invitation.format(creator=creator)


def _modification(participant_id: str, millis: int) -> dict[str, Any]:
    return {
        "kind": "games#roomModification",
        "participantId": participant_id,
        "modifiedTimestampMillis": str(millis),
    }


def _auto_matching_status(room: RoomState) -> dict[str, Any] | None:
    free = room.free_slots
    if free == 0:
        return None
    return {
        "kind": "games#roomAutoMatchStatus",
        "waitEstimateSeconds": free * SECONDS_PER_FREE_SLOT,
    }


def _participants(room: RoomState, viewer: Participant, phrases: Phrases) -> list[dict[str, Any]]:
    return [
        _participant(p, position, viewer, phrases)
        for position, p in enumerate(room.participants, start=1)
    ]


def _participant(
    participant: Participant, position: int, viewer: Participant, phrases: Phrases
) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "kind": "games#roomParticipant",
        "id": participant.participant_id,
        "status": participant.status,
        "autoMatched": participant.auto_matched,
        "connected": participant.connected,
    }
    if participant.status == LEFT and participant.leave_reason is not None:
        wire["leaveReason"] = participant.leave_reason
    if participant.capabilities is not None:
        wire["capabilities"] = list(participant.capabilities)
    if participant.xmpp_address is not None:
        wire["clientAddress"] = {
            "kind": "games#roomClientAddress",
            "xmppAddress": participant.xmpp_address,
        }
    if participant.auto_matched and participant.participant_id != viewer.participant_id:
        wire["autoMatchedPlayer"] = {
            "kind": "games#anonymousPlayer",
            "displayName": phrases.anonymous_player.format(number=position),
        }
    else:
        wire["player"] = {
            "kind": "games#player",
            "playerId": participant.player_id,
            "displayName": participant.player_id,
        }
    return wire

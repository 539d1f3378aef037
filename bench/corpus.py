"""Deterministic corpora of realistic games#room documents for the benchmarks."""

from __future__ import annotations

import random
from typing import Any

import orjson

STATUSES = ["ROOM_INVITING", "ROOM_AUTO_MATCHING", "ROOM_CONNECTING", "ROOM_ACTIVE", "ROOM_DELETED"]
PARTICIPANT = [
    "PARTICIPANT_INVITED",
    "PARTICIPANT_JOINED",
    "PARTICIPANT_DECLINED",
    "PARTICIPANT_LEFT",
]
REASONS = ["PLAYER_LEFT", "GAME_LEFT", "ABANDONED", "PEER_CONNECTION_FAILURE", "TIMEOUT"]
NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Leslie"]
FAMILY = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]


def _ms(rng: random.Random) -> str:
    return str(rng.randrange(1_400_000_000_000, 1_800_000_000_000))


def _level(rng: random.Random, level: int) -> dict[str, Any]:
    low = level * 1000
    return {
        "kind": "games#playerLevel",
        "level": level,
        "minExperiencePoints": str(low),
        "maxExperiencePoints": str(low + 999),
    }


def _player(rng: random.Random) -> dict[str, Any]:
    given, family = rng.choice(NAMES), rng.choice(FAMILY)
    pid = str(rng.randrange(10**20, 10**21))
    level = rng.randrange(1, 60)
    return {
        "kind": "games#player",
        "playerId": pid,
        "originalPlayerId": str(rng.randrange(10**20, 10**21)),
        "displayName": f"{given} {family}",
        "name": {"givenName": given, "familyName": family},
        "title": rng.choice(["Rookie", "Veteran", "Champion", "Explorer"]),
        "avatarImageUrl": f"https://lh3.googleusercontent.com/a/{pid}/avatar",
        "bannerUrlLandscape": f"https://lh3.googleusercontent.com/a/{pid}/banner-landscape",
        "bannerUrlPortrait": f"https://lh3.googleusercontent.com/a/{pid}/banner-portrait",
        "lastPlayedWith": {
            "kind": "games#played",
            "timeMillis": _ms(rng),
            "autoMatched": rng.random() < 0.5,
        },
        "profileSettings": {"kind": "games#profileSettings", "profileVisible": rng.random() < 0.8},
        "experienceInfo": {
            "kind": "games#playerExperienceInfo",
            "currentExperiencePoints": str(level * 1000 + rng.randrange(1000)),
            "lastLevelUpTimestampMillis": _ms(rng),
            "currentLevel": _level(rng, level),
            "nextLevel": _level(rng, level + 1),
        },
    }


def _participant(rng: random.Random, number: int) -> dict[str, Any]:
    status = rng.choice(PARTICIPANT)
    participant: dict[str, Any] = {
        "kind": "games#roomParticipant",
        "id": f"p_{number}_{rng.randrange(10**12):012d}",
        "status": status,
        "connected": status == "PARTICIPANT_JOINED",
        "autoMatched": rng.random() < 0.3,
        "capabilities": ["reliable_messaging", "unreliable_messaging"],
        "player": _player(rng),
        "clientAddress": {
            "kind": "games#roomClientAddress",
            "xmppAddress": f"player{number}@games.example/client",
        },
    }
    if status == "PARTICIPANT_LEFT":
        participant["leaveReason"] = rng.choice(REASONS)
    return participant


def room(rng: random.Random) -> dict[str, Any]:
    count = rng.randrange(2, 9)
    participants = [_participant(rng, n) for n in range(count)]
    creator = participants[0]["id"]
    return {
        "kind": "games#room",
        "roomId": f"room-{rng.randrange(10**15):015d}",
        "applicationId": "498217703217",
        "status": rng.choice(STATUSES),
        "roomStatusVersion": rng.randrange(1, 50),
        "variant": rng.randrange(0, 4),
        "description": f"Invitation from {participants[0]['player']['displayName']}",
        "inviterId": creator,
        "autoMatchingCriteria": {
            "kind": "games#roomAutoMatchingCriteria",
            "minAutoMatchingPlayers": 1,
            "maxAutoMatchingPlayers": 3,
            "exclusiveBitmask": str(rng.randrange(0, 2**40)),
        },
        "autoMatchingStatus": {
            "kind": "games#roomAutoMatchStatus",
            "waitEstimateSeconds": rng.randrange(0, 120),
        },
        "creationDetails": {
            "kind": "games#roomModification",
            "participantId": creator,
            "modifiedTimestampMillis": _ms(rng),
        },
        "lastUpdateDetails": {
            "kind": "games#roomModification",
            "participantId": creator,
            "modifiedTimestampMillis": _ms(rng),
        },
        "participants": participants,
    }


DEFECTS = 5


def _break(rng: random.Random, document: dict[str, Any], choice: int) -> None:
    """Introduce one realistic defect (``choice`` picks which of ``DEFECTS`` kinds)."""
    participant = rng.choice(document["participants"])
    if choice == 0:
        document["status"] = document["status"].lower()
    elif choice == 1:
        document["roomStatusVersion"] = str(document["roomStatusVersion"])
    elif choice == 2:
        participant["player"]["experienceInfo"]["currentExperiencePoints"] = 12850
    elif choice == 3:
        participant["status"] = "JOINED"
    else:
        document["creationDetails"]["modifiedTimestampMillis"] = "9223372036854775808"


def ndjson(
    count: int, *, invalid_share: float = 0.0, defects: int = 1, seed: int = 2026
) -> tuple[bytes, int]:
    """``count`` rooms as NDJSON and how many of them were broken on purpose.

    A broken room carries ``defects`` different defects (at most ``DEFECTS``); with
    ``invalid_share=1.0`` every room is broken.
    """
    rng = random.Random(seed)
    lines = []
    broken = 0
    for _ in range(count):
        document = room(rng)
        if invalid_share >= 1.0 or (invalid_share and rng.random() < invalid_share):
            for choice in rng.sample(range(DEFECTS), defects):
                _break(rng, document, choice)
            broken += 1
        lines.append(orjson.dumps(document))
    return b"\n".join(lines) + b"\n", broken

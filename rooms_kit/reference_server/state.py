"""A room as the server keeps it: participants, auto-match slots, peer links, version.

These are plain dataclasses with a JSON form (``to_json`` / ``from_json``) that storage keeps
verbatim. The derived facts — who is ``connected`` and the room status — are recomputed by
``settle`` after every change; see docs/room-lifecycle.md, "Room status".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

ROOM_INVITING = "ROOM_INVITING"
ROOM_AUTO_MATCHING = "ROOM_AUTO_MATCHING"
ROOM_CONNECTING = "ROOM_CONNECTING"
ROOM_ACTIVE = "ROOM_ACTIVE"
ROOM_DELETED = "ROOM_DELETED"
ROOM_ORDER = (ROOM_INVITING, ROOM_AUTO_MATCHING, ROOM_CONNECTING, ROOM_ACTIVE, ROOM_DELETED)

INVITED = "PARTICIPANT_INVITED"
JOINED = "PARTICIPANT_JOINED"
DECLINED = "PARTICIPANT_DECLINED"
LEFT = "PARTICIPANT_LEFT"

ESTABLISHED = "CONNECTION_ESTABLISHED"
FAILED = "CONNECTION_FAILED"

MAX_PLAYERS = 8
"""Largest number of players one room may hold (creator + invitations + auto-match slots)."""


@dataclass
class Criteria:
    """Auto-matching criteria of a room, with defaults filled in."""

    min_players: int
    max_players: int
    bitmask: int


@dataclass
class Participant:
    """One player's entry in one room."""

    participant_id: str
    player_id: str
    status: str
    auto_matched: bool = False
    invited: bool = False
    dismissed: bool = False
    connected: bool = False
    leave_reason: str | None = None
    capabilities: list[str] | None = None
    xmpp_address: str | None = None
    bitmask: int | None = None
    """The exclusive bitmask this player brought through auto-matching criteria, if any."""


@dataclass
class RoomState:
    """Everything the server knows about one room."""

    room_id: str
    application_id: str
    variant: int | None
    status: str
    version: int
    created_ms: int
    creator_id: str
    updated_ms: int
    updater_id: str
    criteria: Criteria | None = None
    slots_used: int = 0
    participants: list[Participant] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    """Latest report about each pair of participants, keyed ``"<id>|<id>"`` (ids sorted)."""

    # -- look-ups ---------------------------------------------------------------------------

    def participant_of(self, player_id: str) -> Participant | None:
        for participant in self.participants:
            if participant.player_id == player_id:
                return participant
        return None

    def participant_by_id(self, participant_id: str) -> Participant | None:
        for participant in self.participants:
            if participant.participant_id == participant_id:
                return participant
        return None

    @property
    def creator(self) -> Participant:
        found = self.participant_by_id(self.creator_id)
        assert found is not None, "a room always holds its creator"
        return found

    @property
    def free_slots(self) -> int:
        """Auto-match slots still open for newcomers (0 once the room stopped matching)."""
        if self.criteria is None or self.status not in (ROOM_INVITING, ROOM_AUTO_MATCHING):
            return 0
        return max(self.criteria.max_players - self.slots_used, 0)

    def capacity(self) -> int:
        """Players the room holds when every invitation is accepted and every slot filled."""
        invited = sum(1 for p in self.participants if p.invited)
        return 1 + invited + (self.criteria.max_players if self.criteria else 0)

    # -- derived state ----------------------------------------------------------------------

    @staticmethod
    def link_key(first: str, second: str) -> str:
        return "|".join(sorted((first, second)))

    def settle(self) -> None:
        """Recompute ``connected`` flags and the status (which never moves backwards)."""
        joined = [p for p in self.participants if p.status == JOINED]
        for participant in self.participants:
            others = [p for p in joined if p is not participant]
            participant.connected = (
                participant.status == JOINED
                and bool(others)
                and all(
                    self.links.get(self.link_key(participant.participant_id, o.participant_id))
                    == ESTABLISHED
                    for o in others
                )
            )
        derived = self._derived_status(joined)
        if derived == ROOM_DELETED or ROOM_ORDER.index(derived) > ROOM_ORDER.index(self.status):
            self.status = derived

    def _derived_status(self, joined: list[Participant]) -> str:
        if not joined:
            return ROOM_DELETED
        if any(p.status == INVITED for p in self.participants):
            return ROOM_INVITING
        if self.criteria is not None and self.slots_used < self.criteria.max_players:
            return ROOM_AUTO_MATCHING
        if len(joined) >= 2 and all(p.connected for p in joined):
            return ROOM_ACTIVE
        return ROOM_CONNECTING

    def fingerprint(self) -> dict[str, Any]:
        """What counts as a change of the room (version, update details and dismissals aside):
        a snapshot that shares nothing with the room, to compare with ``==`` after a change."""
        data = self.to_json()
        for key in ("version", "updated_ms", "updater_id"):
            data.pop(key)
        for participant in data["participants"]:
            participant.pop("dismissed")
        return data

    # -- JSON form --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The room as plain data, like ``dataclasses.asdict`` (same keys, same order, nothing
        shared with the room) but written out: ``asdict`` copies every value generically and
        cost more than any statement of a write."""
        data = dict(vars(self))
        if self.criteria is not None:
            data["criteria"] = dict(vars(self.criteria))
        data["participants"] = [_participant_json(p) for p in self.participants]
        data["links"] = dict(self.links)
        return data

    def to_document(self) -> str:
        """The room as the compact JSON text a store keeps. orjson writes it (a fifth of the
        time of ``json.dumps``); what orjson refuses (an integer beyond 64 bits, a lone
        surrogate) is written by ``json`` instead, which any JSON reader reads back the same."""
        data = self.to_json()
        try:
            return orjson.dumps(data).decode()
        except orjson.JSONEncodeError:
            return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_document(cls, document: str) -> RoomState:
        """A room from the text ``to_document`` wrote (or ``json.dumps`` did, before)."""
        try:
            data = orjson.loads(document)
        except orjson.JSONDecodeError:  # what only ``json`` wrote and reads (a lone surrogate)
            data = json.loads(document)
        return cls.from_json(data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RoomState:
        fields = dict(data)
        criteria = fields.pop("criteria")
        participants = fields.pop("participants")
        return cls(
            **fields,
            criteria=Criteria(**criteria) if criteria is not None else None,
            participants=[Participant(**p) for p in participants],
        )


def _participant_json(participant: Participant) -> dict[str, Any]:
    data = dict(vars(participant))
    if participant.capabilities is not None:
        data["capabilities"] = list(participant.capabilities)
    return data

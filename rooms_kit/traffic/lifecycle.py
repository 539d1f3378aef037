"""Per-room rules that a stream of real exchanges can show, checked as the answers come.

Rules (named like the contract suite's behaviour checks):

- ``status_version_monotonic``: a room's version (``roomStatusVersion``, ``statusVersion``) never
  goes below one seen in an answer that completed before the request was sent, and a successful
  join, leave or decline answers a version above every earlier one, unless it changed nothing
  (a repeated one: the participants' statuses are those already seen at that version).
- ``participants_only``: a player who is not among a room's participants never gets the room.
- ``invitation_listed``: a complete list (no ``pageToken`` asked, no ``nextPageToken`` given) of a
  player invited to a room, sent after the create was answered, holds that room while the player
  is still invited and has neither dismissed nor declined it.
- ``dismiss_hides_invitation`` / ``decline_hides_invitation``: ... and never holds it once the
  player dismissed or declined it.
- ``paging_complete``: a walk through the pages of ``list`` serves every room once and ends
  (``rooms_kit.traffic.paging``).
- ``create_idempotent``: the same player repeating a create with the same ``requestId`` gets the
  same room.
- ``deleted_room_final``: once a room was seen deleted, no join of it succeeds.
- ``room_lifecycle``: a room whose joined players (two or more, nobody still invited) are all
  connected says ``ROOM_ACTIVE`` (unless it is still matching players).

Only what completed before a request was sent counts against its answer, so concurrent requests
never raise false alarms. Which alias stands for which player id is learned from traffic: the
creator named in the room a create without auto-matching answered (an auto-matching create may
place its caller in someone else's room), and the invitee common to every room of a player's list.
Memory is bounded: at most ``MAX_ROOMS`` rooms are followed (the oldest are forgotten), and an id
longer than ``MAX_ID_CHARS`` (a room's, a player's, a create's ``requestId``) is not followed.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.http import Exchange
from rooms_kit.traffic.aliases import ANONYMOUS, Aliases
from rooms_kit.traffic.operations import Route
from rooms_kit.traffic.paging import MAX_ID_CHARS, Page, Walks
from rooms_kit.traffic.seen import Seen, body_value

MAX_ROOMS = 100_000
MAX_REQUEST_IDS = 100_000
MAX_FACTS = 1024  # distinct answers whose facts are remembered, keyed by the body itself
MAX_FACT_BODY_BYTES = 16 * 1024  # larger answers are not remembered (at most 16 MiB of keys)
READS = {"games.rooms.get", "games.rooms.list"}
CHANGES = {"games.rooms.join", "games.rooms.leave", "games.rooms.decline"}
ROOM_RULES = ("status_version_monotonic", "participants_only", "room_lifecycle")
APPLIED = {  # operation -> the rules its successful answers are judged by
    "games.rooms.create": ("create_idempotent", *ROOM_RULES),
    "games.rooms.join": ("deleted_room_final", *ROOM_RULES),
    "games.rooms.list": (
        "invitation_listed",
        "dismiss_hides_invitation",
        "decline_hides_invitation",
        "paging_complete",
    ),
    "games.rooms.reportStatus": ("status_version_monotonic",),
    "games.rooms.dismiss": (),  # answers without a room; its effect is judged on later lists
}
LEFT_ALONE = {"ROOM_ACTIVE", "ROOM_DELETED", "ROOM_AUTO_MATCHING"}  # statuses room_lifecycle skips
HIDES = {
    "games.rooms.dismiss": "dismiss_hides_invitation",
    "games.rooms.decline": "decline_hides_invitation",
}


Shape = tuple[tuple[str, str], ...]
"""(participant id, status) of every participant of a room, sorted: what a change changes."""


@dataclass
class Room:
    version: int = 0  # highest version known, and when the answer that showed it completed
    version_at: float = 0.0
    previous: int = 0  # the highest version before that one, for requests sent earlier
    shape: Shape | None = None  # the participants' statuses at ``version``, and at ``previous``
    previous_shape: Shape | None = None
    invited: dict[str, float] = field(
        default_factory=dict
    )  # player id -> when the invite was known
    hidden: dict[str, tuple[str, float]] = field(default_factory=dict)  # player id -> (rule, when)
    deleted_at: float = 0.0  # when an answer first showed the room deleted (0: never)


@dataclass(frozen=True)
class _Facts:
    """What the rules read from one room in an answer."""

    room_id: str
    members: set[str] | None  # player ids of the participants (None: some id is hidden)
    invited: set[str] | None  # ... of those still invited
    deleted: bool
    not_active: tuple[ContractFailure, ...]  # room_lifecycle's verdict on the room alone
    version: int | None
    shape: Shape | None  # None: some participant lacks a string id or status


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects in ``value`` when it is an array; nothing for any other JSON value (a broken
    upstream may send a string, a number or an object where an array belongs)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _id(value: Any) -> str | None:
    """``value`` when it can be an id the rules remember: a string of at most ``MAX_ID_CHARS``
    (the tables hold ids by the hundred thousand; a 1 MB id would make them gigabytes)."""
    return value if isinstance(value, str) and len(value) <= MAX_ID_CHARS else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _rooms(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    if body.get("kind") == "games#room" or ("roomId" in body and "participants" in body):
        return [body]
    return _dicts(body.get("items"))


def _player_ids(room: dict[str, Any], status: str | None = None) -> set[str] | None:
    """Player ids of the participants (with ``status``); None when any participant hides its id."""
    found: set[str] = set()
    entries = room.get("participants")
    for entry in entries if isinstance(entries, list) else []:
        player = entry.get("player") if isinstance(entry, dict) else None
        player_id = _id(player.get("playerId")) if isinstance(player, dict) else None
        if player_id is None:
            return None
        if status is None or entry.get("status") == status:
            found.add(player_id)
    return found


def _not_active(room_id: str, body: dict[str, Any]) -> list[ContractFailure]:
    """``room_lifecycle``: a room whose joined players (two or more, nobody still invited) are all
    connected is active; one still matching players, active or deleted is left alone."""
    status = body.get("status")
    if not isinstance(status, str) or status in LEFT_ALONE:
        return []
    entries = _dicts(body.get("participants"))
    joined = [entry for entry in entries if entry.get("status") == "PARTICIPANT_JOINED"]
    if len(joined) < 2 or any(entry.get("status") == "PARTICIPANT_INVITED" for entry in entries):
        return []
    if not all(entry.get("connected") is True for entry in joined):
        return []
    return [
        ContractFailure(
            "room_lifecycle",
            "every joined player is connected, yet the room is not active",
            f"room {room_id} says {status} with {len(joined)} joined and connected players",
        )
    ]


def _shape(room: dict[str, Any]) -> Shape | None:
    pairs = []
    for entry in _dicts(room.get("participants")):
        pair = (entry.get("id"), entry.get("status"))
        if not isinstance(pair[0], str) or not isinstance(pair[1], str):
            return None
        pairs.append((pair[0], pair[1]))
    return tuple(sorted(pairs))


def _version(body: Any) -> int | None:
    if not isinstance(body, dict):
        return None
    value = body.get("roomStatusVersion", body.get("statusVersion"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class Lifecycle:
    aliases: Aliases
    rooms: OrderedDict[str, Room] = field(default_factory=OrderedDict)
    players: dict[str, str] = field(default_factory=dict)  # alias -> player id
    creates: OrderedDict[tuple[str, str], str] = field(default_factory=OrderedDict)
    invitations: dict[str, set[str]] = field(default_factory=dict)  # player id -> room ids
    facts: OrderedDict[bytes, list[_Facts]] = field(default_factory=OrderedDict)
    walks: Walks = field(default_factory=Walks)

    def room(self, room_id: str) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = Room()
            if len(self.rooms) > MAX_ROOMS:  # the oldest is forgotten, its invitations with it
                forgotten, old = self.rooms.popitem(last=False)
                for invitee in old.invited:
                    self._uninvite(invitee, forgotten)
        return room

    def _uninvite(self, invitee: str, room_id: str) -> None:
        """``room_id`` no longer among ``invitee``'s invitations (a player with none is dropped,
        so the table holds only players with an invitation in a room still followed)."""
        rooms = self.invitations.get(invitee)
        if rooms is not None:
            rooms.discard(room_id)
            if not rooms:
                del self.invitations[invitee]

    def applied(self, seen: Seen, route: Route) -> tuple[str, ...]:
        if not 200 <= seen.status < 300:
            return ()
        return APPLIED.get(route.operation, ROOM_RULES)

    def observe(self, seen: Seen, route: Route, data: Exchange) -> list[ContractFailure]:
        found: list[ContractFailure] = []
        ok = 200 <= seen.status < 300
        if not ok:
            return found
        try:
            body = seen.response_json() if seen.response_body else None
        except ValueError:
            return found
        sent = seen.started
        done = seen.started + seen.latency_ms / 1000
        operation = route.operation
        if operation not in READS:
            self.walks.changed(done)  # pages walked across this change may shift
        state = self.rooms.get(route.room_id or "")
        if operation == "games.rooms.join" and state is not None and 0 < state.deleted_at < sent:
            found.append(
                ContractFailure(
                    "deleted_room_final",
                    "joined a room after it was deleted",
                    f"room {route.room_id} had been seen deleted; a deleted room accepts no join",
                )
            )
        if operation == "games.rooms.create":
            found += self._create(seen, body)
        if operation == "games.rooms.list":
            found += self._list(seen, body, sent)
        path_room = _id(route.room_id)
        if operation in HIDES and path_room:
            me = self.players.get(seen.player)
            if me is not None:
                self.room(path_room).hidden[me] = (HIDES[operation], done)
        for facts in self._facts(seen, body) if operation != "games.rooms.list" else []:
            found += self._room(seen, operation, facts, sent, done)
        if operation == "games.rooms.reportStatus" and path_room:
            found += self._version(path_room, operation, _version(body), sent, done)
        return found

    def _create(self, seen: Seen, body: Any) -> list[ContractFailure]:
        if not isinstance(body, dict):
            return []
        sent_body = _json(seen.request_body)
        # An auto-matching create may be answered with a room someone else created (the caller
        # placed in it), whose creator is then not the caller: only other creates tell who is.
        if not isinstance(sent_body, dict) or "autoMatchingCriteria" not in sent_body:
            creator = _dict(body.get("creationDetails")).get("participantId")
            for entry in _dicts(body.get("participants")):
                if entry.get("id") == creator:
                    player_id = _id(_dict(entry.get("player")).get("playerId"))
                    if player_id is not None:
                        self.players.setdefault(seen.player, player_id)
        request_id = _id(sent_body.get("requestId")) if isinstance(sent_body, dict) else None
        room_id = _id(body.get("roomId"))
        if request_id is None or room_id is None:
            return []
        key = (seen.player, request_id)
        first = self.creates.setdefault(key, room_id)
        if len(self.creates) > MAX_REQUEST_IDS:
            self.creates.popitem(last=False)
        if first != room_id:
            return [
                ContractFailure(
                    "create_idempotent",
                    "a repeated create made a second room",
                    f"requestId {request_id} gave room {first} before and now {room_id}",
                )
            ]
        return []

    def _room(
        self, seen: Seen, operation: str, facts: _Facts, sent: float, done: float
    ) -> list[ContractFailure]:
        room_id = facts.room_id
        found: list[ContractFailure] = []
        room = self.room(room_id)
        members = facts.members
        me = self.players.get(seen.player)
        if members is not None and me is not None and me not in members:
            found.append(
                ContractFailure(
                    "participants_only",
                    "a player who is not a participant got the room",
                    f"{seen.player} ({me}) got room {room_id}; "
                    f"its participants: {', '.join(sorted(members))}",
                )
            )
        invited = facts.invited
        if invited is not None:
            for invitee in invited:
                room.invited.setdefault(invitee, done)
                self.invitations.setdefault(invitee, set()).add(room_id)
            for moved in set(room.invited) - invited:
                del room.invited[moved]
                self._uninvite(moved, room_id)
        if facts.deleted and not room.deleted_at:
            room.deleted_at = done
        found += facts.not_active
        strict = operation in CHANGES
        found += self._version(
            room_id, operation, facts.version, sent, done, grows=strict, shape=facts.shape
        )
        return found

    def _facts(self, seen: Seen, body: Any) -> list[_Facts]:
        """What the rules need of each room in an answer; remembered per body, since clients
        poll rooms and get the same bytes again and again."""
        found = self.facts.get(seen.response_body)
        if found is not None:
            return found
        found = [
            _Facts(
                room_id,
                _player_ids(room),
                _player_ids(room, "PARTICIPANT_INVITED"),
                room.get("status") == "ROOM_DELETED",
                tuple(_not_active(room_id, room)),
                _version(room),
                _shape(room),
            )
            for room in _rooms(body)
            if (room_id := _id(room.get("roomId"))) is not None
        ]
        if len(seen.response_body) <= MAX_FACT_BODY_BYTES:
            self.facts[seen.response_body] = found
        if len(self.facts) > MAX_FACTS:
            self.facts.popitem(last=False)
        return found

    def _version(
        self,
        room_id: str,
        operation: str,
        version: int | None,
        sent: float,
        done: float,
        *,
        grows: bool = False,
        shape: Shape | None = None,
    ) -> list[ContractFailure]:
        """``grows``: the answer is to a change (join, leave, decline), which must raise the
        version unless it changed nothing (a repeated one is a no-op: the participants' statuses
        are those already seen at that version)."""
        if version is None:
            return []
        room = self.room(room_id)
        earlier = room.version_at < sent
        known = room.version if earlier else room.previous
        known_shape = room.shape if earlier else room.previous_shape
        unchanged = shape is not None and shape == known_shape
        found: list[ContractFailure] = []
        if version < known or (grows and known and version == known and not unchanged):
            moved = "went back" if version < known else "did not grow"
            found.append(
                ContractFailure(
                    "status_version_monotonic",
                    f"the room version {moved}",
                    f"{operation.rsplit('.', 1)[-1]} of room {room_id} answered version {version} "
                    f"after {known} "
                    "had been seen",
                )
            )
        if version > room.version:
            room.previous, room.version, room.version_at = room.version, version, done
            room.previous_shape, room.shape = room.shape, shape
        elif version == room.version and room.shape is None:
            room.shape = shape
        return found

    def _list(self, seen: Seen, body: Any, sent: float) -> list[ContractFailure]:
        rooms = _rooms(body)
        common: set[str] | None = None
        for room in rooms:
            invited = _player_ids(room, "PARTICIPANT_INVITED")
            common = set() if invited is None else invited if common is None else common & invited
        common = common or set()
        if len(common) == 1 and seen.player != ANONYMOUS:
            self.players.setdefault(seen.player, next(iter(common)))
        me = self.players.get(seen.player)
        if not isinstance(body, dict):
            return []
        query = parse_qs(seen.query)
        tokens = query.get("pageToken")
        token = tokens[0] if tokens else None
        asked = (query.get("maxResults") or [""])[0]
        next_token = body.get("nextPageToken")
        page = Page(
            seen.player,
            token,
            int(asked) if asked.isascii() and asked.isdigit() and len(asked) < 20 else None,
            [str(room.get("roomId")) for room in rooms],
            next_token if isinstance(next_token, str) and next_token else None,
            sent,
        )
        walk, found = self.walks.follow(page)
        if me is None:
            return found
        listed = set(page.rooms)
        for room_id in listed:
            hidden = self.rooms[room_id].hidden.get(me) if room_id in self.rooms else None
            if hidden is not None and hidden[1] < sent:
                found.append(
                    ContractFailure(
                        hidden[0],
                        "a room the player turned down is still listed",
                        f"room {room_id} is in {seen.player}'s list",
                    )
                )
        if page.next_token is not None or walk is None:
            return (
                found  # a part of the list (or of a walk begun elsewhere): absence proves nothing
            )
        if walk.pages > 1 or walk.full:  # paged: what is missing, the pages lost
            return found + self.walks.lost(walk, seen.player, self._invited(me, walk.began))
        for room_id in self._invited(me, sent):
            if room_id not in listed:
                found.append(
                    ContractFailure(
                        "invitation_listed",
                        "an invitation is missing from the invitee's list",
                        f"room {room_id} is not in {seen.player}'s complete list, yet {me} is "
                        "invited and has neither declined nor dismissed it",
                    )
                )
        return found

    def _invited(self, me: str, before: float) -> list[str]:
        """Rooms ``me`` was known to be invited to before ``before``, still open to them."""
        found: list[str] = []
        for room_id in sorted(self.invitations.get(me, set())):
            state = self.rooms.get(room_id)
            since = state.invited.get(me) if state is not None else None
            if state is None or since is None or since >= before:
                continue
            if not state.deleted_at and me not in state.hidden:
                found.append(room_id)
        return found


def _json(body: bytes) -> Any:
    return body_value(body)[0]

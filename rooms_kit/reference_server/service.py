"""The room lifecycle: the eight operations on wire-format dicts, one transaction each.

``RoomService`` is the behaviour of docs/room-lifecycle.md and nothing else: no HTTP, no
``rooms_api`` models. Callers pass the authenticated player id and the request body as a dict;
they get a wire-format dict back, or a ``ServiceError`` (400, 404 or 409).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from rooms_kit.reference_server.errors import Conflict, InvalidRequest, RoomNotFound
from rooms_kit.reference_server.paging import decode_page_token, encode_page_token
from rooms_kit.reference_server.parsing import (
    CreateRequest,
    check_consistency_token,
    parse_create,
    parse_join,
    parse_leave,
    parse_max_results,
    parse_report,
)
from rooms_kit.reference_server.rendering import render_room, render_status
from rooms_kit.reference_server.state import (
    DECLINED,
    INVITED,
    JOINED,
    LEFT,
    ROOM_DELETED,
    ROOM_INVITING,
    Participant,
    RoomState,
)
from rooms_kit.reference_server.storage import Store, Transaction

DEFAULT_APPLICATION_ID = "rooms-kit-reference"
Wire = dict[str, Any]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def new_room_id() -> str:
    return secrets.token_urlsafe(18)


def new_participant_id() -> str:
    return "p_" + secrets.token_urlsafe(12)


class RoomService:
    """The behaviour of the reference server on top of a ``Store``."""

    def __init__(
        self,
        store: Store,
        *,
        application_id: str = DEFAULT_APPLICATION_ID,
        wall_clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.store = store
        self.application_id = application_id
        self._wall_clock = wall_clock

    # -- operations -------------------------------------------------------------------------

    def create(
        self,
        player_id: str,
        body: Mapping[str, Any] | None,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Wire:
        check_consistency_token(consistency_token)
        request = parse_create(body, player_id)
        with self.store.write() as tx:
            if request.request_id is not None:
                earlier = tx.find_request(self.application_id, player_id, request.request_id)
                if earlier is not None:
                    room = tx.load_room(earlier)
                    if room is not None:
                        return render_room(room, self._member(room, player_id), language)
            room = None
            if request.criteria is not None and not request.invited:
                room = self._place(tx, request, player_id)
            if room is None:
                room = self._new_room(request, player_id, tx.tick(self._wall_clock()))
                tx.save_room(room)
            if request.request_id is not None:
                tx.remember_request(
                    self.application_id, player_id, request.request_id, room.room_id
                )
            return render_room(room, self._member(room, player_id), language)

    def get(
        self,
        player_id: str,
        room_id: str,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Wire:
        check_consistency_token(consistency_token)
        with self.store.read() as tx:
            room, me = self._visible(tx, room_id, player_id)
            return render_room(room, me, language)

    def join(
        self,
        player_id: str,
        room_id: str,
        body: Mapping[str, Any] | None,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Wire:
        check_consistency_token(consistency_token)
        request = parse_join(body)

        def enter(me: Participant) -> None:
            if request.capabilities is not None:
                me.capabilities = request.capabilities
            if request.xmpp_address is not None:
                me.xmpp_address = request.xmpp_address

        return self._move(player_id, room_id, "join", INVITED, JOINED, language, enter)

    def decline(
        self,
        player_id: str,
        room_id: str,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Wire:
        check_consistency_token(consistency_token)
        return self._move(player_id, room_id, "decline", INVITED, DECLINED, language)

    def dismiss(
        self, player_id: str, room_id: str, *, consistency_token: str | None = None
    ) -> None:
        check_consistency_token(consistency_token)
        with self.store.write() as tx:
            room, me = self._visible(tx, room_id, player_id)
            if not me.invited:
                raise Conflict(f"Cannot dismiss room {room_id}: the caller was not invited")
            if not me.dismissed:
                me.dismissed = True
                tx.save_room(room)

    def leave(
        self,
        player_id: str,
        room_id: str,
        body: Mapping[str, Any] | None,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Wire:
        check_consistency_token(consistency_token)
        leave_reason = parse_leave(body)

        def depart(me: Participant) -> None:
            me.leave_reason = leave_reason

        return self._move(player_id, room_id, "leave", JOINED, LEFT, language, depart)

    def list(
        self,
        player_id: str,
        *,
        page_token: str | None = None,
        language: str | None = None,
        max_results: int | None = None,
        consistency_token: str | None = None,
    ) -> Wire:
        check_consistency_token(consistency_token)
        limit = parse_max_results(max_results)
        after = decode_page_token(page_token) if page_token else None
        with self.store.read() as tx:
            rooms = tx.invitations(self.application_id, player_id, after, limit + 1)
            page = rooms[:limit]
            answer: Wire = {
                "kind": "games#roomList",
                "items": [render_room(r, self._member(r, player_id), language) for r in page],
            }
        if len(rooms) > limit:
            last = page[-1]
            answer["nextPageToken"] = encode_page_token((last.created_ms, last.room_id))
        return answer

    def report_status(
        self,
        player_id: str,
        room_id: str,
        body: Mapping[str, Any] | None,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Wire:
        check_consistency_token(consistency_token)
        updates = parse_report(body)
        with self.store.write() as tx:
            room, me = self._visible(tx, room_id, player_id)
            self._refuse_if_deleted(room, "report the status of")
            if me.status != JOINED:
                raise Conflict(f"Cannot report in room {room_id}: the caller is {me.status}")
            before = room.fingerprint()
            for update in updates:
                if update.participant_id == me.participant_id:
                    raise InvalidRequest("An update cannot be about the caller itself")
                if room.participant_by_id(update.participant_id) is None:
                    raise InvalidRequest(
                        f"No participant {update.participant_id} in room {room_id}"
                    )
                key = room.link_key(me.participant_id, update.participant_id)
                room.links[key] = update.status
            self._commit(tx, room, me, before)
            return render_status(room, me, language)

    # -- helpers ----------------------------------------------------------------------------

    def _visible(
        self, tx: Transaction, room_id: str, player_id: str
    ) -> tuple[RoomState, Participant]:
        room = tx.load_room(room_id) if room_id else None
        if room is None or room.application_id != self.application_id:
            raise RoomNotFound(room_id)
        me = room.participant_of(player_id)
        if me is None:
            raise RoomNotFound(room_id)
        return room, me

    @staticmethod
    def _member(room: RoomState, player_id: str) -> Participant:
        me = room.participant_of(player_id)
        assert me is not None, "rooms are only rendered for their participants"
        return me

    def _move(
        self,
        player_id: str,
        room_id: str,
        action: str,
        source: str,
        target: str,
        language: str | None,
        change: Callable[[Participant], None] | None = None,
    ) -> Wire:
        """Move the caller from ``source`` to ``target`` status (join, decline, leave).

        Repeating a move that already happened answers the room unchanged; a deleted room or a
        caller in any other status is a conflict.
        """
        with self.store.write() as tx:
            room, me = self._visible(tx, room_id, player_id)
            if me.status == target:
                return render_room(room, me, language)
            self._refuse_if_deleted(room, action)
            if me.status != source:
                raise Conflict(f"Cannot {action} room {room_id}: the caller is {me.status}")
            before = room.fingerprint()
            me.status = target
            if change is not None:
                change(me)
            self._commit(tx, room, me, before)
            return render_room(room, me, language)

    @staticmethod
    def _refuse_if_deleted(room: RoomState, action: str) -> None:
        if room.status == ROOM_DELETED:
            raise Conflict(f"Cannot {action} room {room.room_id}: it has been deleted")

    def _commit(
        self, tx: Transaction, room: RoomState, actor: Participant, before: dict[str, Any]
    ) -> None:
        """Settle the room; when anything changed, version it, stamp it and save it."""
        room.settle()
        if room.fingerprint() == before:
            return
        room.version += 1
        room.updated_ms = tx.tick(self._wall_clock())
        room.updater_id = actor.participant_id
        tx.save_room(room)

    def _new_room(self, request: CreateRequest, player_id: str, now: int) -> RoomState:
        ids = _unique_ids(1 + len(request.invited))
        creator = Participant(
            participant_id=ids[0],
            player_id=player_id,
            status=JOINED,
            capabilities=request.capabilities,
            xmpp_address=request.xmpp_address,
            bitmask=request.criteria.bitmask if request.criteria else None,
        )
        invited = [
            Participant(participant_id=pid, player_id=invitee, status=INVITED, invited=True)
            for pid, invitee in zip(ids[1:], request.invited, strict=True)
        ]
        room = RoomState(
            room_id=new_room_id(),
            application_id=self.application_id,
            variant=request.variant,
            status=ROOM_INVITING,
            version=1,
            created_ms=now,
            creator_id=creator.participant_id,
            updated_ms=now,
            updater_id=creator.participant_id,
            criteria=request.criteria,
            participants=[creator, *invited],
        )
        room.settle()
        return room

    def _place(self, tx: Transaction, request: CreateRequest, player_id: str) -> RoomState | None:
        """Put the caller into the oldest compatible room waiting for players, if any. The time
        is taken once the room is in hand (a store may lock it only then), so that a room's
        modification times keep increasing even when its writers run side by side."""
        criteria = request.criteria
        assert criteria is not None
        for room in tx.match_candidates(self.application_id, request.variant):
            others_when_full = room.capacity() - 1
            compatible = (
                room.free_slots > 0
                and room.variant == request.variant
                and room.participant_of(player_id) is None
                and criteria.min_players <= others_when_full <= criteria.max_players
                and all(
                    p.bitmask is None or p.bitmask & criteria.bitmask == 0
                    for p in room.participants
                )
            )
            if not compatible:
                continue
            taken = {p.participant_id for p in room.participants}
            newcomer = Participant(
                participant_id=_unique_ids(1, taken)[0],
                player_id=player_id,
                status=JOINED,
                auto_matched=True,
                capabilities=request.capabilities,
                xmpp_address=request.xmpp_address,
                bitmask=criteria.bitmask,
            )
            room.participants.append(newcomer)
            room.slots_used += 1
            room.settle()
            room.version += 1
            room.updated_ms = tx.tick(self._wall_clock())
            room.updater_id = newcomer.participant_id
            tx.save_room(room)
            return room
        return None


def _unique_ids(count: int, taken: set[str] | None = None) -> list[str]:
    seen = set(taken or ())
    ids: list[str] = []
    while len(ids) < count:
        candidate = new_participant_id()
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return ids

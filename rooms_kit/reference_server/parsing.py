"""Request bodies and parameters, read from wire-format dicts into small checked dataclasses.

The HTTP layer validates against the schemas first; these checks repeat what the behaviour code
relies on (types, ranges) and add the rules the schemas cannot say, so the service is safe to call
directly as well. Every problem is an ``InvalidRequest`` (400).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from rooms_kit.formats import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN
from rooms_kit.reference_server import policy
from rooms_kit.reference_server.errors import InvalidRequest
from rooms_kit.reference_server.leave_reasons import DEFAULT_REASON, LEAVE_REASONS
from rooms_kit.reference_server.state import ESTABLISHED, FAILED, MAX_PLAYERS, Criteria

_INT64_TEXT = re.compile(r"-?(0|[1-9][0-9]{0,18})")
MAX_RESULTS_DEFAULT = 100
MAX_RESULTS_LIMIT = 500


@dataclass(frozen=True)
class CreateRequest:
    request_id: int | None
    variant: int | None
    invited: tuple[str, ...]
    criteria: Criteria | None
    capabilities: list[str] | None
    xmpp_address: str | None


@dataclass(frozen=True)
class JoinRequest:
    capabilities: list[str] | None
    xmpp_address: str | None


@dataclass(frozen=True)
class PeerUpdate:
    participant_id: str
    status: str


def parse_int64_text(value: object, name: str) -> int:
    """An int64 carried as a JSON string (``"-12"``), as the wire format requires."""
    if not isinstance(value, str) or not _INT64_TEXT.fullmatch(value):
        raise InvalidRequest(f"Invalid value for {name}: expected an int64 as a decimal string")
    number = int(value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise InvalidRequest(f"Invalid value for {name}: outside the int64 range")
    return number


def check_consistency_token(token: str | None) -> None:
    """Accept any well-formed token: every answer already reflects every acknowledged write."""
    if token is not None:
        parse_int64_text(token, "consistencyToken")


def parse_max_results(value: object) -> int:
    if value is None:
        return MAX_RESULTS_DEFAULT
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,4}", value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest("Invalid value for maxResults: expected an integer")
    if not 1 <= value <= MAX_RESULTS_LIMIT:
        raise InvalidRequest(f"Invalid value for maxResults: {value} is not within 1..500")
    return value


def parse_create(body: object, caller: str) -> CreateRequest:
    data = _object(body, "games#roomCreateRequest")
    request_id = data.get("requestId")
    invited = _strings(data.get("invitedPlayerIds"), "invitedPlayerIds") or []
    policy.check_invitations(invited)
    first_at: dict[str, int] = {}
    for index, player_id in enumerate(invited):
        pointer = f"/invitedPlayerIds/{index}"
        if not player_id:
            _refuse(pointer, "a player id is empty")
        if player_id == caller:
            _refuse(pointer, "the caller cannot invite itself")
        if player_id in first_at:
            where = f"/invitedPlayerIds/{first_at[player_id]}"
            _refuse(pointer, f"{player_id!r} is invited twice (also at '{where}')")
        first_at[player_id] = index
    criteria = _criteria(data.get("autoMatchingCriteria"))
    if not invited and criteria is None:
        raise InvalidRequest(
            "A room needs invitedPlayerIds or autoMatchingCriteria: nobody else could join it"
        )
    size = 1 + len(invited) + (criteria.max_players if criteria else 0)
    if size > MAX_PLAYERS:
        _refuse(
            "/autoMatchingCriteria/maxAutoMatchingPlayers" if criteria else "/invitedPlayerIds",
            f"a room holds at most {MAX_PLAYERS} players; this request asks for {size}",
        )
    return CreateRequest(
        request_id=None if request_id is None else parse_int64_text(request_id, "requestId"),
        variant=_int32(data.get("variant"), "/variant"),
        invited=tuple(invited),
        criteria=criteria,
        capabilities=_capabilities(data.get("capabilities")),
        xmpp_address=_xmpp(data.get("clientAddress")),
    )


def parse_join(body: object) -> JoinRequest:
    data = _object(body, "games#roomJoinRequest")
    return JoinRequest(
        capabilities=_capabilities(data.get("capabilities")),
        xmpp_address=_xmpp(data.get("clientAddress")),
    )


def parse_leave(body: object) -> str:
    """The participant ``leaveReason`` the request's ``reason`` maps to."""
    data = _object(body, "games#roomLeaveRequest")
    reason = data.get("reason", DEFAULT_REASON)
    if not isinstance(reason, str) or reason not in LEAVE_REASONS:
        raise InvalidRequest(f"Invalid value for reason: {reason!r}")
    return LEAVE_REASONS[reason]


def parse_report(body: object) -> list[PeerUpdate]:
    data = _object(body, "games#roomP2PStatuses")
    updates = data.get("updates", [])
    if not isinstance(updates, list):
        raise InvalidRequest("updates must be a list")
    policy.check_updates(updates)
    parsed = []
    for index, update in enumerate(updates):
        item = _object(update, "games#roomP2PStatus", f"updates[{index}]")
        participant_id = item.get("participantId")
        status = item.get("status")
        if not isinstance(participant_id, str) or not participant_id:
            raise InvalidRequest(f"updates[{index}].participantId is required")
        policy.check_participant_id(participant_id, index)
        if status not in (ESTABLISHED, FAILED):
            raise InvalidRequest(f"updates[{index}].status must be {ESTABLISHED} or {FAILED}")
        parsed.append(PeerUpdate(participant_id, str(status)))
    return parsed


def _object(value: object, kind: str, name: str = "body") -> Mapping[str, Any]:
    if value is None and name == "body":
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"{name} must be a JSON object")
    if "kind" in value and value["kind"] != kind:
        raise InvalidRequest(f"{name}.kind must be {kind}")
    return value


def _refuse(pointer: str, what: str) -> NoReturn:
    raise InvalidRequest(f"Invalid value at '{pointer}': {what}", pointer=pointer)


def _int32(value: object, pointer: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 2.0 is an integer to JSON Schema, and so to the stub's check
    if not isinstance(value, int) or isinstance(value, bool) or not INT32_MIN <= value <= INT32_MAX:
        _refuse(pointer, "expected an int32")
    return value


def _strings(value: object, name: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest(f"{name} must be a list of strings")
    return list(value)


def _capabilities(value: object) -> list[str] | None:
    capabilities = _strings(value, "capabilities")
    policy.check_capabilities(capabilities)
    return capabilities


def _xmpp(value: object) -> str | None:
    if value is None:
        return None
    data = _object(value, "games#roomClientAddress", "clientAddress")
    address = data.get("xmppAddress")
    if address is not None and not isinstance(address, str):
        raise InvalidRequest("clientAddress.xmppAddress must be a string")
    policy.check_address(address)
    return address


def _criteria(value: object) -> Criteria | None:
    if value is None:
        return None
    data = _object(value, "games#roomAutoMatchingCriteria", "autoMatchingCriteria")
    at = "/autoMatchingCriteria/"
    minimum = _int32(data.get("minAutoMatchingPlayers"), f"{at}minAutoMatchingPlayers")
    minimum = 1 if minimum is None else minimum
    maximum = _int32(data.get("maxAutoMatchingPlayers"), f"{at}maxAutoMatchingPlayers")
    maximum = minimum if maximum is None else maximum
    if minimum < 1:
        _refuse(f"{at}minAutoMatchingPlayers", f"{minimum}; at least 1 other player is needed")
    if maximum < minimum:
        _refuse(
            f"{at}maxAutoMatchingPlayers",
            f"{maximum} is less than minAutoMatchingPlayers ({minimum})",
        )
    bitmask_text = data.get("exclusiveBitmask")
    bitmask = 0 if bitmask_text is None else parse_int64_text(bitmask_text, "exclusiveBitmask")
    return Criteria(min_players=minimum, max_players=maximum, bitmask=bitmask)

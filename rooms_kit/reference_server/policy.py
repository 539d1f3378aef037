"""What the reference server agrees to keep: its own limits, stricter than the wire schemas.

The schemas describe what may travel; this is what one room may hold on this server (see
docs/room-lifecycle.md, "Limits", R-limits-1). Every value here ends up stored and served back to
other players, so each one is bounded: a request over a limit is refused with 400 ``invalid`` and
the JSON pointer of the offending value, before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from rooms_kit.reference_server.errors import InvalidRequest
from rooms_kit.reference_server.state import MAX_PLAYERS

MAX_ID_LENGTH = 64
"""Longest player id (in ``invitedPlayerIds``) or participant id (in ``updates``)."""
MAX_CAPABILITIES = 16
"""Most entries in one participant's ``capabilities``."""
MAX_CAPABILITY_LENGTH = 128
"""Longest single capability string."""
MAX_ADDRESS_LENGTH = 256
"""Longest ``clientAddress.xmppAddress``."""
MAX_INVITATIONS = MAX_PLAYERS - 1
"""Most ``invitedPlayerIds`` in one create: everyone but the creator."""
MAX_UPDATES = MAX_PLAYERS - 1
"""Most ``updates`` in one reportStatus: one per other participant of the room."""


def check_length(value: str, limit: int, pointer: str, what: str) -> None:
    if len(value) > limit:
        raise InvalidRequest(
            f"Invalid value at '{pointer}': {what} is {len(value)} characters long; "
            f"this server keeps at most {limit}",
            pointer=pointer,
        )


def check_count(values: Sequence[object], limit: int, pointer: str, what: str) -> None:
    if len(values) > limit:
        raise InvalidRequest(
            f"Invalid value at '{pointer}': {len(values)} {what}; this server accepts at most "
            f"{limit}",
            pointer=pointer,
        )


def check_invitations(player_ids: Sequence[str]) -> None:
    if len(player_ids) > MAX_INVITATIONS:
        raise InvalidRequest(
            f"Invalid value at '/invitedPlayerIds': {len(player_ids)} invited players; a room "
            f"holds at most {MAX_PLAYERS} players, the creator included",
            pointer="/invitedPlayerIds",
        )
    for index, player_id in enumerate(player_ids):
        check_length(player_id, MAX_ID_LENGTH, f"/invitedPlayerIds/{index}", "a player id")


def check_capabilities(capabilities: Sequence[str] | None) -> None:
    if capabilities is None:
        return
    check_count(capabilities, MAX_CAPABILITIES, "/capabilities", "capabilities")
    for index, capability in enumerate(capabilities):
        check_length(capability, MAX_CAPABILITY_LENGTH, f"/capabilities/{index}", "a capability")


def check_address(address: str | None) -> None:
    if address is not None:
        check_length(address, MAX_ADDRESS_LENGTH, "/clientAddress/xmppAddress", "the address")


def check_updates(updates: Sequence[object]) -> None:
    check_count(updates, MAX_UPDATES, "/updates", "updates")


def check_participant_id(participant_id: str, index: int) -> None:
    pointer = f"/updates/{index}/participantId"
    check_length(participant_id, MAX_ID_LENGTH, pointer, "a participant id")

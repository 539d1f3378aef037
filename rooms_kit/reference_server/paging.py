"""Opaque page tokens for ``list``: the position of the last room of a page, encoded.

A position rather than an offset, so rooms created between two pages neither repeat nor vanish
(docs/room-lifecycle.md, R-list-2).
"""

from __future__ import annotations

import base64
import binascii
import re

from rooms_kit.formats import INT64_MAX
from rooms_kit.reference_server.errors import InvalidRequest
from rooms_kit.reference_server.storage import ListPosition

_PREFIX = "rk1:"


def encode_page_token(position: ListPosition) -> str:
    created_ms, room_id = position
    raw = f"{_PREFIX}{created_ms}:{room_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str) -> ListPosition:
    """The position a token stands for; ``InvalidRequest`` for anything the server did not make."""
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidRequest("Invalid pageToken") from None
    if not raw.startswith(_PREFIX):
        raise InvalidRequest("Invalid pageToken")
    created, sep, room_id = raw[len(_PREFIX) :].partition(":")
    if not sep or not room_id or not re.fullmatch(r"[0-9]{1,19}", created):
        raise InvalidRequest("Invalid pageToken")
    if int(created) > INT64_MAX:  # 19 digits reach past what either store holds
        raise InvalidRequest("Invalid pageToken")
    return int(created), room_id

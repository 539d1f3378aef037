"""``OpenApi.passes_quickly``: the Rust engine may only ever spare the Python validator work, never
hide a violation. Every leaf of valid list and room bodies is replaced in turn by values that
break the schema, or sit at its edges, or that the two engines could read differently; wherever
the quick check passes a body, the Python validator must find nothing wrong with it either."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from rooms_kit.contract.openapi import OpenApi

ROOM: dict[str, Any] = {
    "kind": "games#room",
    "applicationId": "app",
    "roomId": "r1",
    "status": "ROOM_ACTIVE",
    "variant": 1,
    "description": "a room",
    "creationDetails": {
        "kind": "games#roomModification",
        "participantId": "p1",
        "modifiedTimestampMillis": "1700000000000",
    },
    "lastUpdateDetails": {
        "kind": "games#roomModification",
        "participantId": "p1",
        "modifiedTimestampMillis": "9223372036854775807",
    },
    "roomStatusVersion": 2147483647,
    "participants": [
        {
            "kind": "games#roomParticipant",
            "id": "p1",
            "status": "PARTICIPANT_JOINED",
            "connected": True,
            "capabilities": ["voice"],
        }
    ],
}
REPLACEMENTS: list[Any] = [
    None, True, 0, -1, 1.5, 1.0, 2**31, -(2**31) - 1, 2**63, 2**64, 10**40, "", "x",
    "12\n", "١٢", "-0", "9223372036854775808", [], [1], {}, {"kind": "games#room"},
]  # fmt: skip
"""Wrong types, the edges of int32 and int64 (in numbers and in strings), a final newline and
Arabic-Indic digits (which a lax pattern engine could let through), and integers beyond 64
bits, which orjson refuses and which therefore always go to the Python validator."""


@pytest.fixture(scope="module")
def openapi() -> OpenApi:
    return OpenApi.load()


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, (*path, index))


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    changed = copy.deepcopy(value)
    node = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return changed


BODIES = [
    ("games.rooms.get", ROOM),
    ("games.rooms.list", {"kind": "games#roomList", "items": [ROOM, ROOM], "pageToken": "t"}),
]


@pytest.mark.parametrize(("operation", "valid"), BODIES, ids=[b[0] for b in BODIES])
def test_a_quick_pass_is_never_a_violation_the_python_validator_finds(
    openapi: OpenApi, operation: str, valid: dict[str, Any]
) -> None:
    schema = openapi.response_schema(operation, 200)
    assert schema is not None
    assert openapi.passes_quickly(schema, json.dumps(valid).encode())  # it does pass good bodies
    quick_failures = 0
    for path in [p for p in _leaves(valid) if p]:
        for new in REPLACEMENTS:
            body = _replaced(valid, path, new)
            raw = json.dumps(body).encode()
            errors = list(openapi.validator(schema).iter_errors(body))
            if openapi.passes_quickly(schema, raw):
                assert errors == [], (path, new)
            else:
                quick_failures += 1
    assert quick_failures > 100  # the mutations did break bodies, so both sides were exercised


def test_a_body_the_quick_check_cannot_read_goes_to_the_python_validator(
    openapi: OpenApi,
) -> None:
    schema = openapi.response_schema("games.rooms.get", 200)
    assert schema is not None
    big = json.dumps(ROOM).replace("2147483647", "1" + "0" * 40).encode()
    assert not openapi.passes_quickly(schema, big)
    assert list(openapi.validator(schema).iter_errors(json.loads(big)))  # and it is wrong
    for unreadable in (b"NaN", b'{"kind": "\\ud800"}', b"[" * 2000 + b"]" * 2000, b"\xff"):
        assert not openapi.passes_quickly(schema, unreadable)


def test_a_list_of_thousands_of_rooms_passes_quickly(openapi: OpenApi) -> None:
    schema = openapi.response_schema("games.rooms.list", 200)
    assert schema is not None
    rooms = [dict(ROOM, roomId=f"r{i}") for i in range(20_000)]
    raw = json.dumps({"kind": "games#roomList", "items": rooms}).encode()
    assert openapi.passes_quickly(schema, raw)
    rooms[19_999] = dict(ROOM, roomStatusVersion="2")
    raw = json.dumps({"kind": "games#roomList", "items": rooms}).encode()
    assert not openapi.passes_quickly(schema, raw)

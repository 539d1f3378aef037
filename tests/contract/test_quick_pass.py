"""``OpenApi.passes_quickly``: the Rust engine may only ever spare the Python validator work, never
hide a violation. Every leaf of valid list and room bodies is replaced in turn by values that
break the schema, or sit at its edges, or that the two engines could read differently; wherever
the quick check passes a body, the Python validator must find nothing wrong with it either."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from rooms_kit.contract.checks import MAX_FINDINGS, MAX_LISTED_ERRORS
from rooms_kit.contract.failures import pointer_pattern
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


def _distinct(problems: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """The (pointer pattern, keyword) pairs the reports keep, in order (``CheckContext.findings``)."""
    found: list[tuple[str, str]] = []
    for pointer, keyword, _ in problems:
        pair = (pointer_pattern(pointer), keyword)
        if pair not in found and len(found) < MAX_FINDINGS:
            found.append(pair)
    return found


def _wrong_lists(count: int, *, unreadable: bool) -> Iterator[tuple[Any, bytes]]:
    """Lists of rooms (two participants each) with a few leaves of a few rooms replaced; with
    ``unreadable``, some replacements are values orjson refuses (so the body is not trusted)."""
    rng = random.Random(7)
    room = dict(
        ROOM, participants=[ROOM["participants"][0], dict(ROOM["participants"][0], id="p2")]
    )
    valid = {"kind": "games#roomList", "items": [room] * 7, "nextPageToken": "t"}
    leaves = [p for p in _leaves(valid) if p]
    odd = [float("nan"), float("inf"), 2**70, "\ud800"]
    for _ in range(count):
        body = copy.deepcopy(valid)
        for _ in range(rng.randint(1, 6)):
            new = rng.choice(odd if unreadable and rng.random() < 0.3 else REPLACEMENTS)
            try:
                body = _replaced(body, rng.choice(leaves), new)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier replacement took the way away
        raw = json.dumps(body).encode()
        yield json.loads(raw), raw


def _differently_read(raw: bytes, body: Any) -> bool:
    """Whether orjson refuses ``raw`` or reads it otherwise than Python (10**40 as a float)."""
    try:
        return bool(orjson.loads(raw) != body)
    except orjson.JSONDecodeError:
        return True


@pytest.mark.parametrize("unreadable", [False, True], ids=["trusted", "untrusted"])
def test_the_bounded_description_finds_what_the_whole_python_run_finds(
    openapi: OpenApi, unreadable: bool
) -> None:
    # the Python validator describes only a few items of each list; the rest are judged by
    # jsonschema-rs, which must agree on which items fail, how many violations they hold and
    # which distinct (place, rule) pairs they show, so that reports keep the same violations
    schema = openapi.response_schema("games.rooms.list", 200)
    assert schema is not None
    validator = openapi.validator(schema)
    cut_short = unjudged = 0
    for body, raw in _wrong_lists(300, unreadable=unreadable):
        whole = [
            ("".join(f"/{p}" for p in e.absolute_path), str(e.validator), e.message)
            for e in validator.iter_errors(body)
        ]
        found = openapi.errors(schema, body, raw)  # 7 rooms: all of them described
        assert [(p.pointer, p.keyword, p.message) for p in found.problems] == whole
        assert (found.count, found.failing.items, found.unjudged.items) == (len(whole), 0, 0)
        short = openapi.errors(schema, body, raw, detailed=1)
        described = [(p.pointer, p.keyword, p.message) for p in short.problems]
        assert [problem for problem in whole if problem in described] == described  # in order
        if short.unjudged.items:  # only where orjson cannot read the body as Python does
            assert _differently_read(raw, body)
            assert short.count <= len(whole)
            unjudged += 1
            continue
        assert short.count == len(whole)
        assert _distinct(described) == _distinct(whole)
        # with no errors read past the one room described, the rest are only told good from
        # bad: each failing one counts once, and the count says it is a lower bound
        rough = openapi.errors(schema, body, raw, detailed=1, examined=0)
        first = [(p.pointer, p.keyword, p.message) for p in rough.problems]
        assert [problem for problem in whole if problem in first] == first
        assert len(first) + rough.failing.items <= rough.count <= len(whole)
        assert rough.exact == (rough.failing.items == 0)
        assert described[:MAX_LISTED_ERRORS] == whole[:MAX_LISTED_ERRORS] or short.failing.items
        cut_short += short.failing.items > 0
    assert cut_short > 30  # bodies with more failing rooms than described were among them
    assert unjudged > 0 if unreadable else True

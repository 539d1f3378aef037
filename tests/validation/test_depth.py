"""Deeply nested documents: a ``depth`` issue at the right pointer, never a RecursionError.

The catalogue nests participants (arrays in arrays, objects in objects, players in players) from
just inside the limit up to just below the JSON reader's 1,024 levels; each case must get its
exact answer, and the validators must still work afterwards.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from rooms_kit.validation import Validators
from rooms_kit.validation.depth import MAX_DEPTH, deeper_than
from rooms_kit.validation.issues import shorten

TOLERANT = Validators.load()
STRICT = Validators.load(strict=True)
VALID_ROOM = {"kind": "games#room", "roomId": "r1", "status": "ROOM_ACTIVE"}


def _nest(shape: str, levels: int) -> Any:
    """A value that is ``levels`` containers deep (a scalar counts as no level)."""
    value: Any = {} if shape != "array" else []
    for _ in range(levels - 1):
        value = [value] if shape == "array" else {shape: value}
    return value


def _room(shape: str, levels: int) -> dict[str, Any]:
    """A room whose participants array starts level 2, with ``levels`` levels below the root."""
    return {"kind": "games#room", "participants": [_nest(shape, levels - 2)]}


def _depth_pointer(shape: str) -> str:
    # The first container at level MAX_DEPTH + 1: /participants (2), /participants/0 (3), ...
    step = "0" if shape == "array" else shape
    return "/participants/0" + f"/{step}" * (MAX_DEPTH - 2)


SHAPES = ["array", "kind", "player", "nested"]
# Tolerant mode ignores unknown members, so only shapes that break a schema rule at their top are
# invalid there: arrays where a participant object belongs, an object where the kind string does.
CASES = [(TOLERANT, "array"), (TOLERANT, "kind"), *((STRICT, shape) for shape in SHAPES)]


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 300, 1_000, 1_023])
@pytest.mark.parametrize(
    ("validators", "shape"),
    CASES,
    ids=[f"{'strict' if v.strict else 'tolerant'}-{shape}" for v, shape in CASES],
)
def test_deep_participants_get_one_depth_issue(
    validators: Validators, shape: str, levels: int
) -> None:
    document = _room(shape, levels)
    raw = orjson.dumps(document) if levels < 255 else None
    room = validators.kind("room")
    for issues in (
        room.errors(document),
        room.errors(document, max_errors=1),
        validators.check(document),
        validators.check(document, kind="room", max_errors=5),
    ):
        assert [(i.pointer, i.keyword) for i in issues] == [(_depth_pointer(shape), "depth")]
        assert f"nested deeper than {MAX_DEPTH} levels" in issues[0].message
        assert issues[0].expected == f"at most {MAX_DEPTH} levels of nested objects and arrays"
    assert not room.is_valid(document)
    if raw is not None:
        assert [i.keyword for i in validators.check_bytes(raw)] == ["depth"]
    # Still healthy: a plain room right after.
    assert room.errors(VALID_ROOM) == []


@pytest.mark.parametrize("shape", SHAPES)
def test_nesting_up_to_the_limit_gets_the_schema_error(shape: str) -> None:
    document = _room(shape, MAX_DEPTH)
    (issue,) = STRICT.check(document, max_errors=1)
    assert issue.keyword in {"type", "additionalProperties", "const"}
    assert issue.pointer.startswith("/participants/0")
    assert issue.keyword != "depth"


def test_deep_bytes_below_the_reader_limit() -> None:
    # orjson reads up to 1,024 levels; the validators must answer for every depth it accepts.
    for levels in (255, 512, 1_000, 1_023):
        raw = b'{"kind":"games#room","participants":' + b"[" * (levels - 1) + b"]" * (levels - 1)
        raw += b"}"
        assert [i.keyword for i in TOLERANT.check_bytes(raw)] == ["depth"], levels


def test_deep_unknown_member_of_a_valid_room_is_valid_when_tolerated() -> None:
    # Tolerant mode does not look inside unknown members, so their depth does not matter there;
    # strict mode reports the unknown member, whose value is too deep to show.
    document = {**VALID_ROOM, "extra": _nest("array", 1_000)}
    assert TOLERANT.check(document) == []
    assert TOLERANT.kind("room").is_valid(document)
    (issue,) = STRICT.check(document)
    assert (issue.pointer, issue.keyword) == ("/extra" + "/0" * (MAX_DEPTH - 1), "depth")


def test_other_errors_of_a_document_with_a_deep_unknown_member_are_reported() -> None:
    document = {**VALID_ROOM, "status": "room_active", "extra": _nest("nested", 1_000)}
    assert [(i.pointer, i.keyword) for i in TOLERANT.check(document)] == [("/status", "enum")]


def test_deeper_than_finds_the_first_container_past_the_limit() -> None:
    assert deeper_than(_nest("array", 3), 3) is None
    assert deeper_than(_nest("array", 4), 3) == (0, 0, 0)
    assert deeper_than({"a": 1, "b": [[{"c": {}}]]}, 3) == ("b", 0, 0)
    assert deeper_than("scalar", 0) is None
    assert deeper_than([], 0) == ()


def test_shorten_never_recurses() -> None:
    deep = _nest("array", 5_000)
    assert shorten(deep).startswith("[[[[")
    assert len(shorten(deep)) <= 60
    assert shorten({"a": _nest("k", 5_000)}).startswith('{"a":{"k":{"k":')
    assert shorten(object()).startswith("<object object")


@pytest.mark.parametrize("member", ["invitedPlayerIds", "unknownMember"])
def test_request_bodies_as_the_server_stub_checks_them(member: str) -> None:
    # The stub calls errors(data, max_errors=1) with strict validators on the parsed body; a deep
    # body must come back as a depth issue (a 400 for the client), never as an exception.
    body = {"kind": "games#roomCreateRequest", member: _nest("array", 1_000)}
    (issue,) = STRICT.kind("roomCreateRequest").errors(body, max_errors=1)
    assert issue.keyword == "depth"
    assert issue.pointer.startswith(f"/{member}/0/0")


def test_shorten_names_numbers_json_cannot_write() -> None:
    # NaN and the infinities (which Python's json reads from NaN, Infinity and 1e999) were
    # written as orjson writes them, null: a message said 'got number null'
    assert [shorten(v) for v in (math.nan, math.inf, -math.inf, 1.5)] == [
        "NaN", "Infinity", "-Infinity", "1.5",
    ]  # fmt: skip
    (issue,) = STRICT.kind("room").errors({"kind": "games#room", "roomStatusVersion": math.inf})
    assert issue.message == "got number Infinity"

"""A large invalid document is described through its bounded share, with the same issues.

``RustEngine.issues`` describes a large document (``SHARE_BYTES`` of JSON or more) through a copy
whose long arrays keep only the items that can show (``rooms_kit.validation.share``). These tests
hold it to the unbounded method (every error jsonschema-rs finds, sorted, the first
``max_errors`` kept), issue for issue and in order, over generated documents: long arrays of wrong
items, wrong items at the start, middle and end, rooms broken in several places, wrong
participants and capabilities inside kept rooms, unknown members in strict mode, values nested
past the depth limit (and past the engine's own), and Python values that JSON cannot hold. The
size gate is set to zero so that small documents take the bounded path too; the last tests count
the errors read from jsonschema-rs on large documents.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from referencing.exceptions import Unresolvable

from rooms_kit.validation import Validators, engine
from rooms_kit.validation.depth import MAX_DEPTH, deeper_than
from rooms_kit.validation.issues import Issue
from rooms_kit.validation.share import depth_schema, first_failing
from tests.support.schema_helpers import load_example

TOLERANT = Validators.load()
STRICT = Validators.load(strict=True)
ROOM = load_example("valid/room.json")
PARTICIPANT = ROOM["participants"][0]


@contextmanager
def _gate(size: int) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "SHARE_BYTES", size)
        yield


def _answers(
    validators: Validators, document: Any, limit: int, kind_name: str = "roomList"
) -> tuple[list[Issue], list[Issue]]:
    """(unbounded, bounded) issues of ``document``, each worked out afresh."""
    kind = validators.kind(kind_name)
    with _gate(sys.maxsize):
        validators.engine._issues.clear()
        whole = kind.errors(document, max_errors=limit, fast=False)
    with _gate(0):
        validators.engine._issues.clear()
        bounded = kind.errors(document, max_errors=limit, fast=False)
    return whole, bounded


def _nest(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


WRONG = st.one_of(
    st.integers(-3, 3),
    st.sampled_from(["", "x", "ROOM_ACTIVE", None, True, 1.5, [], {}, [1, "a"], {"kind": 1}]),
)


@st.composite
def _participant(draw: st.DrawFn) -> Any:
    participant = copy.deepcopy(PARTICIPANT)
    for name in draw(st.lists(st.sampled_from(sorted(PARTICIPANT)), max_size=3)):
        participant[name] = draw(WRONG)
    if draw(st.booleans()):
        participant["capabilities"] = draw(
            st.lists(st.one_of(st.just("reliable_messaging"), WRONG), max_size=30)
        )
    for name in draw(st.lists(st.sampled_from(["extra", "Kind", "statuss"]), max_size=3)):
        participant[name] = draw(WRONG)  # unknown members: refused in strict mode
    return participant


@st.composite
def _room(draw: st.DrawFn) -> Any:
    room = copy.deepcopy(ROOM)
    for name in draw(st.lists(st.sampled_from(sorted(ROOM)), max_size=3)):
        room[name] = draw(WRONG)
    if draw(st.booleans()):
        room["participants"] = draw(st.lists(st.one_of(_participant(), WRONG), max_size=25))
    for name in draw(st.lists(st.sampled_from(["extra", "roomStatusVerison", "x"]), max_size=3)):
        room[name] = draw(WRONG)
    return room


def _deep(draw: st.DrawFn) -> Any:
    return _nest(draw(st.sampled_from([MAX_DEPTH - 3, MAX_DEPTH, MAX_DEPTH + 5, 300])))


@st.composite
def room_lists(draw: st.DrawFn) -> Any:
    """A games#roomList of valid rooms, broken rooms and wrong values, in runs."""
    items: list[Any] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["good", "wrong", "broken", "mixed"]))
        count = draw(st.integers(0, 140))
        if kind == "good":
            items += [ROOM] * count
        elif kind == "wrong":
            value = draw(WRONG)
            items += [value] * count
        elif kind == "broken":
            items += draw(st.lists(_room(), max_size=12))
        else:
            items += draw(st.lists(st.one_of(st.just(ROOM), WRONG, _room()), max_size=40))
    if items and draw(st.integers(0, 5)) == 0:  # a value nested deep among the items
        spot = draw(st.integers(0, len(items) - 1))
        items[spot] = _deep(draw) if draw(st.booleans()) else {**ROOM, "extra": _deep(draw)}
    document: dict[str, Any] = {"kind": "games#roomList", "items": items}
    if draw(st.integers(0, 9)) == 0:
        document["nextPageToken"] = draw(WRONG)
    return document


@settings(max_examples=300, deadline=None)
@given(room_lists(), st.booleans(), st.sampled_from([1, 2, 3, 10, 25]))
def test_the_share_gives_the_unbounded_answers(document: Any, strict: bool, limit: int) -> None:
    validators = STRICT if strict else TOLERANT
    whole, bounded = _answers(validators, document, limit)
    assert bounded == whole
    # From JSON text, as the command reads it (orjson reads it back equal, so it is trusted).
    if deeper_than(document, 250) is None:
        raw = orjson.dumps(document)
        with _gate(0):
            validators.engine._issues.clear()
            assert validators.check_bytes(raw, kind="roomList", max_errors=limit) == whole


@settings(max_examples=60, deadline=None)
@given(st.lists(_room(), min_size=1, max_size=8), st.booleans(), st.sampled_from([1, 3, 10]))
def test_one_room_with_long_lists_inside(rooms: list[Any], strict: bool, limit: int) -> None:
    room = rooms[0]
    lists = [r["participants"] for r in rooms if isinstance(r.get("participants"), list)]
    participants = [p for found in lists for p in found]
    room["participants"] = participants * 5
    validators = STRICT if strict else TOLERANT
    whole, bounded = _answers(validators, room, limit, "room")
    assert bounded == whole


@pytest.mark.parametrize("where", ["start", "middle", "end", "everywhere"])
@pytest.mark.parametrize("limit", [1, 10])
def test_wrong_items_at_one_place_of_a_long_list(where: str, limit: int) -> None:
    items: list[Any] = [ROOM] * 3000
    spots = {"start": [0, 1, 2], "middle": [1499, 1500], "end": [2999], "everywhere": []}[where]
    if where == "everywhere":
        items = list(range(3000))
    for spot in spots:
        items[spot] = {**ROOM, "status": "nope", "variant": "2"}
    document = {"kind": "games#roomList", "items": items}
    for validators in (TOLERANT, STRICT):
        whole, bounded = _answers(validators, document, limit)
        assert bounded == whole
        assert bounded  # the document is invalid in every case


def test_many_unknown_members_in_strict_mode() -> None:
    room = {**ROOM, **{f"extra{n}": n for n in range(5_000)}}
    document = {"kind": "games#roomList", "items": [ROOM, room, 7, room] * 10}
    whole, bounded = _answers(STRICT, document, 10)
    assert bounded == whole
    assert [(i.pointer, i.keyword) for i in bounded[:3]] == [
        ("/items/1", "additionalProperties"),
        ("/items/10", "type"),
        ("/items/11", "additionalProperties"),
    ]


def test_python_values_json_cannot_hold_are_judged_whole() -> None:
    # A tuple, NaN and a set: the share is not used (their JSON would not read back equal, or
    # cannot be written), and the answers are those of the unbounded method.
    for odd in [(1, 2), float("nan"), {1, 2}]:
        document = {"kind": "games#roomList", "items": [*range(200), {**ROOM, "variant": odd}]}
        whole, bounded = _answers(TOLERANT, document, 3)
        assert bounded == whole


@pytest.mark.parametrize("levels", [MAX_DEPTH - 3, MAX_DEPTH + 1, 254, 300])
@pytest.mark.parametrize("spot", [0, 7, 1999])
def test_a_deep_item_among_many_wrong_ones(levels: int, spot: int) -> None:
    items: list[Any] = list(range(2000))
    items[spot] = _nest(levels)
    document = {"kind": "games#roomList", "items": items}
    for validators in (TOLERANT, STRICT):
        whole, bounded = _answers(validators, document, 10)
        assert bounded == whole
        if levels > MAX_DEPTH:
            assert [issue.keyword for issue in bounded] == ["depth"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=1200), st.integers(1, 30))
def test_first_failing_follows_the_order_of_decimal_strings(bad: list[bool], want: int) -> None:
    judged: list[int] = []

    def fails(index: int) -> bool:
        judged.append(index)
        return bad[index]

    found = first_failing(len(bad), fails, lambda a, b: any(bad[a:b]), want)
    expected = sorted((i for i, b in enumerate(bad) if b), key=str)[:want]
    assert found == expected
    assert len(judged) == len(set(judged))  # no item is judged twice on its own


@pytest.mark.parametrize("levels", [1, 2, 3, 10])
def test_the_depth_schema_agrees_with_deeper_than(levels: int) -> None:
    checker = TOLERANT.engine._part(depth_schema(levels))
    samples: list[Any] = [1, "a", None, [], {}, [1, [2]], {"a": {"b": [{}]}}, [[[[[]]]]]]
    samples += [_nest(n) for n in range(1, 13)] + [{"a": _nest(n)} for n in range(1, 13)]
    for sample in samples:
        assert checker.is_valid(sample) == (deeper_than(sample, levels) is None), sample


def _pulled(validators: Validators, run: Any) -> tuple[Any, int]:
    before = validators.engine.pulled
    answer = run()
    return answer, validators.engine.pulled - before


def test_the_errors_read_are_bounded_by_the_issues_printed() -> None:
    # 60,000 wrong values (about 350 KB of JSON): the share reads a few errors, the unbounded
    # method all of them.
    document = {"kind": "games#roomList", "items": list(range(60_000))}
    room_list = TOLERANT.kind("roomList")
    bounded, pulled = _pulled(TOLERANT, lambda: room_list.errors(document, max_errors=10))
    assert pulled <= 10
    assert [issue.pointer for issue in bounded] == [
        f"/items/{n}" for n in (0, 1, 10, 100, 1000, 10000, 10001, 10002, 10003, 10004)
    ]
    with _gate(sys.maxsize):
        whole, everything = _pulled(TOLERANT, lambda: room_list.errors(document, max_errors=10))
    assert everything == 60_000
    assert whole == bounded


def test_a_schema_the_walk_cannot_resolve_leaves_the_document_whole() -> None:
    validators = Validators.load()
    document = {"kind": "games#roomList", "items": list(range(5_000))}

    def nowhere(location: str) -> Any:
        raise Unresolvable(ref=location)

    validators.engine._at = nowhere  # type: ignore[method-assign]
    issues, pulled = _pulled(
        validators, lambda: validators.kind("roomList").errors(document, max_errors=3)
    )
    assert pulled == 5_000  # described whole, as before
    assert [issue.pointer for issue in issues] == ["/items/0", "/items/1", "/items/10"]

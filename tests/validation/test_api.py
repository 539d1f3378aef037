"""The Python validation API: one object per kind with ``is_valid`` and ``errors``."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms_kit.errors import UnknownKindError
from rooms_kit.validation import Validators
from tests.support.schema_helpers import EXAMPLES, expectations, load_example

EXPECTED = expectations()
VALID = sorted((EXAMPLES / "valid").glob("*.json"))


@pytest.fixture(scope="module")
def tolerant() -> Validators:
    return Validators.load()


@pytest.fixture(scope="module")
def strict() -> Validators:
    return Validators.load(strict=True)


def test_every_kind_has_a_fast_path(tolerant: Validators) -> None:
    assert sorted(tolerant.fast.types) == tolerant.schemas.kind_names()


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_examples_pass_both_paths(
    tolerant: Validators, strict: Validators, path: Path
) -> None:
    raw = path.read_bytes()
    document = json.loads(raw)
    # The fast path leaves 19-digit int64 strings to the precise path; all others it accepts.
    fast_expected = not re.search(rb'"-?[0-9]{19}"', raw)
    for validators in (tolerant, strict):
        assert validators.fast.accepts(raw, None) == fast_expected
        assert validators.check_bytes(raw) == []
        room = validators.kind(document["kind"].removeprefix("games#"))
        assert room.is_valid(document)
        assert room.errors(document) == []


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_invalid_examples_give_the_recorded_error(
    tolerant: Validators, strict: Validators, relative: str
) -> None:
    expected = EXPECTED[relative]
    validators = strict if expected["strict"] else tolerant
    raw = (EXAMPLES / "invalid" / relative).read_bytes()
    document = json.loads(raw)
    kind = validators.kind(expected["kind"])
    assert not validators.fast.accepts(raw, expected["kind"]), "the fast path must never accept it"
    assert not kind.is_valid(document)
    issues = kind.errors(document)
    assert [(i.pointer, i.keyword) for i in issues] == [
        (expected["error"]["pointer"], expected["error"]["keyword"])
    ]
    assert issues[0].message and issues[0].expected
    assert validators.check_bytes(raw, kind=expected["kind"]) == issues


def test_kind_is_taken_from_the_document(tolerant: Validators) -> None:
    assert [i.keyword for i in tolerant.check({"roomId": "x"})] == ["kind"]
    unknown = tolerant.check({"kind": "games#rooms"})
    assert [(i.pointer, i.keyword) for i in unknown] == [("/kind", "kind")]
    assert "did you mean games#room?" in unknown[0].message
    assert [i.keyword for i in tolerant.check([1, 2])] == ["type"]
    assert tolerant.check({"kind": "games#played"}) == []


def test_forced_kind_ignores_a_missing_kind(tolerant: Validators) -> None:
    assert tolerant.check({"timeMillis": "12"}, kind="played") == []
    assert tolerant.check_bytes(b'{"timeMillis": "12"}', kind="games#played") == []


def test_unknown_forced_kind_is_an_error(tolerant: Validators) -> None:
    with pytest.raises(UnknownKindError, match="unknown kind 'rom'"):
        tolerant.kind("rom")


def test_max_errors_limits_the_list(tolerant: Validators) -> None:
    document = {"kind": "games#room", "roomId": 1, "status": "x", "variant": "y", "description": 2}
    assert len(tolerant.check(document)) == 4
    assert [i.pointer for i in tolerant.check(document, max_errors=2)] == [
        "/description",
        "/roomId",
    ]


def test_not_json_reports_line_and_column(tolerant: Validators) -> None:
    (issue,) = tolerant.check_bytes(b'{\n  "kind": "games#room",\n  "roomId": \n}')
    assert issue.keyword == "json"
    assert issue.line == 4
    assert "line 4, column 1" in issue.message


def test_integer_valued_float_is_an_integer(tolerant: Validators) -> None:
    # JSON Schema treats 7.0 as an integer; msgspec does not, so the precise path decides.
    raw = b'{"kind": "games#room", "roomStatusVersion": 7.0}'
    assert not tolerant.fast.accepts(raw, None)
    assert tolerant.check_bytes(raw) == []


def test_nineteen_digit_int64_takes_the_precise_path(tolerant: Validators) -> None:
    assert (
        tolerant.check_bytes(b'{"kind": "games#played", "timeMillis": "9223372036854775807"}') == []
    )
    assert (
        tolerant.check_bytes(b'{"kind": "games#played", "timeMillis": "9223372036854775808"}') != []
    )


def _mutations() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**64), max_value=2**64),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=25),
        st.from_regex(r"-?[0-9]{1,20}", fullmatch=True),
        st.sampled_from(
            ["ROOM_ACTIVE", "PARTICIPANT_LEFT", "PLAYER_LEFT", "games#room", "games#player"]
        ),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.sampled_from(["kind", "level", "x"]), st.integers(), max_size=2),
    )


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at] if at else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*at, index))
    return found


ROOM = load_example("valid/room.json")
ROOM_PATHS = _paths(ROOM)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ROOM_PATHS), _mutations(), st.booleans())
def test_fast_path_never_accepts_what_the_schema_rejects(
    path: tuple[Any, ...], value: Any, strict: bool
) -> None:
    validators = _STRICT if strict else _TOLERANT
    document = copy.deepcopy(ROOM)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    raw = json.dumps(document).encode()
    # The oracle: the reference validator alone, for the kind the document names.
    kind = document.get("kind")
    precise_ok = isinstance(kind, str) and kind in validators.schemas.kinds
    precise_ok = precise_ok and bool(validators.kind(kind)._reference.is_valid(document))
    if validators.fast.accepts(raw, None):
        assert precise_ok, f"fast path accepted {path}={value!r}"
    assert (validators.check_bytes(raw) == []) == precise_ok


_TOLERANT = Validators.load()
_STRICT = Validators.load(strict=True)


def test_a_crowd_of_unknown_members_is_named_in_part(strict: Validators) -> None:
    """Wording an unknown member costs a look for a close known name: 600,000 of them took 6 s
    and made a 6 MB message. The issue names the first 20 (sorted), counts the rest, and cuts a
    long name."""
    room = load_example("valid/room.json")
    long_name = "w" * 5_000
    crowd = {f"x{i:05}": 0 for i in range(5_000)}
    document = {**room, **crowd, "roomStatusVerison": 7, long_name: 1}
    (issue,) = strict.check(document, kind="room")
    cut = f"{'w' * 59!r}… (4941 more characters)"
    named = ", ".join(repr(f"x{i:05}") for i in range(18))
    assert issue.message == (
        "unknown properties 'roomStatusVerison' (did you mean 'roomStatusVersion'?), "
        f"{cut}, {named} and 4982 more"
    )
    (issue,) = strict.check({**room, long_name: 1}, kind="room")
    assert issue.message == f"unknown property {cut}"

"""Hostile catalogue: one huge invalid document, described at the cost of the issues printed.

Each case is a document of several MiB holding hundreds of thousands of errors. It must get its
exact answer (the first ``max_errors`` issues in document order, or the one ``depth`` issue), and
the engine must read at most a bounded number of errors from jsonschema-rs for it (the unbounded
method read every one, about 25 µs each with their wording: 12 s or more of CPU for the first
case), or one error whose message jsonschema-rs does not build in full (the unknown members).
The validators must still work afterwards. The last case runs the command itself.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from rooms_kit.validation import Validators
from rooms_kit.validation.issues import Issue, shorten
from rooms_kit.validation.reading import Record
from rooms_kit.validation.run import Checker
from tests.cli.conftest import ROOMS_KIT, ROOTDIR
from tests.support.schema_helpers import load_example

ROOM = load_example("valid/room.json")
WRONG_VALUES = 1_200_000
# The first ten indices of 1,200,000 in the order issues are printed (as strings: "10" < "2").
FIRST_TEN = [0, 1, 10, 100, 1000, 10000, 100000, 1000000, 1000001, 1000002]


def _type_issue(pointer: str, number: int) -> Issue:
    return Issue(pointer, "type", f"got integer {number}", str(number), "object")


def _wrong_room() -> dict[str, Any]:
    """A room whose every member but its kind has the wrong type, four participants likewise."""
    room: dict[str, Any] = {name: 1 for name in ROOM}
    room["kind"] = "games#room"
    room["participants"] = [{name: 1 for name in ROOM["participants"][0]}] * 4
    return room


def _nest(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _check(validators: Validators, document: Any, limit: int = 10) -> tuple[list[Issue], int]:
    """The issues of ``document`` read from its JSON as the command does, and the errors read."""
    raw = orjson.dumps(document)
    checker = Checker(validators, kind=None, max_errors=limit)
    before = validators.engine.pulled
    result = checker.check(Record("huge.json", 1, 1, raw=raw, declined=True))
    issues = [] if result is None else [issue.at_line(None) for issue in result.issues]
    return issues, validators.engine.pulled - before


@pytest.fixture(scope="module", params=[False, True], ids=["tolerant", "strict"])
def validators(request: pytest.FixtureRequest) -> Validators:
    return Validators.load(strict=request.param)


def test_a_million_wrong_values(validators: Validators) -> None:
    document = {"kind": "games#roomList", "items": list(range(WRONG_VALUES))}
    assert len(orjson.dumps(document)) > 8 * 2**20
    issues, pulled = _check(validators, document)
    assert issues == [_type_issue(f"/items/{n}", n) for n in FIRST_TEN]
    assert pulled == 10


def test_rooms_whose_every_member_is_wrong(validators: Validators) -> None:
    room = _wrong_room()
    count = 8 * 2**20 // len(orjson.dumps(room))
    issues, pulled = _check(validators, {"kind": "games#roomList", "items": [room] * count})
    # Every room is wrong the same way, so the first ten issues are all in the first one: the
    # answer of a list of that one room (small enough to be described whole).
    alone, _ = _check(validators, {"kind": "games#roomList", "items": [room]})
    assert issues == alone
    assert len(issues) == 10
    assert issues[0].pointer.startswith("/items/0/")
    assert pulled <= 10 * 100  # ten rooms kept, each with fewer than 100 errors


def test_a_million_wrong_participants_in_one_room(validators: Validators) -> None:
    document = {**copy.deepcopy(ROOM), "participants": list(range(WRONG_VALUES))}
    issues, pulled = _check(validators, {"kind": "games#roomList", "items": [document]})
    assert issues == [_type_issue(f"/items/0/participants/{n}", n) for n in FIRST_TEN]
    assert pulled == 10


@pytest.mark.parametrize("spot", [5, WRONG_VALUES - 1])
def test_a_deep_value_among_a_million_wrong_ones(validators: Validators, spot: int) -> None:
    items: list[Any] = list(range(WRONG_VALUES))
    items[spot] = _nest(200)
    issues, pulled = _check(validators, {"kind": "games#roomList", "items": items})
    pointer = f"/items/{spot}" + "/0" * 126
    assert [(i.pointer, i.keyword) for i in issues] == [(pointer, "depth")]
    assert issues[0].message == "nested deeper than 128 levels (this value starts level 129)"
    assert pulled <= 11  # the ten first and the deep one; then the answer is decided


def test_six_hundred_thousand_unknown_members_in_strict_mode() -> None:
    validators = Validators.load(strict=True)
    room = {**ROOM, **{f"x{n}": n for n in range(600_000)}}
    assert len(orjson.dumps(room)) > 8 * 2**20
    (issue,), pulled = _check(validators, room)
    first = sorted((f"x{n}" for n in range(600_000)), key=str)[:20]
    names = ", ".join(map(repr, first))
    assert (issue.pointer, issue.keyword) == ("", "additionalProperties")
    assert issue.message == f"unknown properties {names} and 599980 more"
    assert issue.value == shorten(first)
    assert issue.value.startswith('["x0","x1","x10","x100","x1000","x10000","x100000"')
    assert pulled == 1  # one error, whose message (every name, 6.5 MB) jsonschema-rs never builds


def test_still_healthy_afterwards(validators: Validators) -> None:
    assert validators.kind("room").errors(ROOM) == []
    (issue,) = validators.kind("room").errors({**ROOM, "variant": "2"}, max_errors=10)
    assert (issue.pointer, issue.keyword) == ("/variant", "type")


def test_the_command_prints_the_first_issues_of_a_million(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(orjson.dumps({"kind": "games#roomList", "items": list(range(WRONG_VALUES))}))
    done = subprocess.run(
        [str(ROOMS_KIT), "validate", "--format", "json", "--max-errors", "3", str(path)],
        capture_output=True,
        cwd=ROOTDIR,
        check=False,
        timeout=300,  # catches a hang, not a slow path: the share is checked by the counts above
        text=True,
    )
    assert done.returncode == 1, done.stderr
    lines = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [(r["pointer"], r["keyword"], r["message"]) for r in lines[:-1]] == [
        (f"/items/{n}", "type", f"got integer {n}") for n in (0, 1, 10)
    ]
    assert {r["line"] for r in lines[:-1]} == {1}
    assert (lines[-1]["type"], lines[-1]["documents"], lines[-1]["invalid"]) == ("summary", 1, 1)

"""Issues kept for repeated mistakes are the issues a fresh look would give.

``RustEngine.issues`` keeps issues about plain values, keyed by the failed keyword's place, the
path and the value, and reuses them for later documents. These tests hold every kept answer to
the one worked out from scratch (``issues_from`` over ``violations``), across values that are
equal in Python but written differently in JSON, and across a table that fills and starts over.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rooms_kit.validation import Validators, engine
from rooms_kit.validation.precise import issues_from
from tests.support.schema_helpers import load_example

ROOM = load_example("valid/room.json")


def _fresh(validators: Validators, document: Any, limit: int | None = None) -> list[Any]:
    compiled = validators.engine.validator(document["kind"])
    return issues_from(validators.engine.violations(compiled, document), limit)


def _room(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(ROOM)
    document.update(changes)
    return document


# Pairs that Python takes for one dictionary key (equal, same hash) but JSON writes differently,
# or of different types that compare equal.
LOOK_ALIKES = [
    (0.0, -0.0),
    (1, True),
    (0, False),
    (1, 1.0),
]


@pytest.mark.parametrize(("first", "second"), LOOK_ALIKES)
def test_look_alike_values_get_their_own_words(first: Any, second: Any) -> None:
    validators = Validators.load()
    for value in (first, second, first, second):
        document = _room(description=value)
        (issue,) = validators.kind("room").errors(document)
        assert issue == _fresh(validators, document)[0]
    a = validators.kind("room").errors(_room(description=first))[0]
    b = validators.kind("room").errors(_room(description=second))[0]
    assert (a.message, a.value) != (b.message, b.value)


def test_the_same_value_at_another_path_gets_its_own_pointer() -> None:
    validators = Validators.load()
    document = copy.deepcopy(ROOM)
    for participant in document["participants"]:
        participant["status"] = "JOINED"
    found = validators.kind("room").errors(document)
    assert [i.pointer for i in found] == [
        f"/participants/{n}/status" for n in range(len(document["participants"]))
    ]
    assert found == _fresh(validators, document)


def test_kept_issues_match_fresh_ones_while_the_table_fills_and_empties(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "TABLE_LIMIT", 5)
    validators = Validators.load()
    room = validators.kind("room")
    for round_ in range(3):
        for number in range(12):
            document = _room(
                roomStatusVersion=str(number % 4),  # an int32 sent as a string
                status=["room_active", "ROOM_ACTIVE", "nope"][number % 3],
                creationDetails={**ROOM["creationDetails"], "modifiedTimestampMillis": number},
            )
            for limit in (None, 1, 2):
                assert room.errors(document, max_errors=limit) == _fresh(
                    validators, document, limit
                ), (round_, number, limit)
        assert len(validators.engine._issues) <= 5


def test_one_document_with_many_errors_is_bounded_and_in_document_order() -> None:
    validators = Validators.load(strict=True)
    document = copy.deepcopy(ROOM)
    for participant in document["participants"]:
        participant["extra"] = 1
        participant["capabilities"] = list(range(100))  # a hundred type errors each
        participant["status"] = "JOINED"
    room = validators.kind("room")
    everything = _fresh(validators, document)
    assert len(everything) > 100
    assert room.errors(document) == everything
    for limit in (1, 3, 90):
        assert room.errors(document, max_errors=limit) == everything[:limit]

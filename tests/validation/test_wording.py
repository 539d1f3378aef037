"""Exact words of two messages a user reported: a document that is not an object (null was
named twice) and the kind suggested for a misspelt kind (the closest one, not the longest)."""

from __future__ import annotations

import pytest

from rooms_kit.validation import Validators
from rooms_kit.validation.suggest import closest, edit_distance


@pytest.fixture(scope="module")
def validators() -> Validators:
    return Validators.load()


@pytest.mark.parametrize(
    ("document", "got"),
    [(None, "null"), (1, "integer 1"), ("x", 'string "x"'), ([], "array []")],
)
def test_a_document_that_is_not_an_object_names_what_it_is_once(
    validators: Validators, document: object, got: str
) -> None:
    [issue] = validators.check(document)
    assert issue.message == f"expected a games# object, got {got}"
    assert issue.expected == "object"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("games#roomP2PStatuss", "games#roomP2PStatus"),  # one edit from it, two from Statuses
        ("games#roomP2PStatuse", "games#roomP2PStatuses"),  # one from each: the longer beginning
        ("games#roomP2PStatusess", "games#roomP2PStatuses"),
        ("games#rooms", "games#room"),
    ],
)
def test_the_kind_suggested_is_the_closest(validators: Validators, typed: str, meant: str) -> None:
    [issue] = validators.check({"kind": typed})
    assert issue.message == f'unknown kind "{typed}" (did you mean {meant}?)'


def test_ties_go_to_the_longer_shared_beginning_then_the_shorter_name() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert closest("abcx", ["abcxy", "abc"], cutoff=0.5) == "abcxy"  # both 1 away, longer start
    assert closest("abx", ["abxy", "abyx"], cutoff=0.5) == "abxy"
    assert closest("abcd", ["abcde", "abcdf"], cutoff=0.5) == "abcde"  # then the first in order
    assert closest("zzzz", ["room"], cutoff=0.8) is None

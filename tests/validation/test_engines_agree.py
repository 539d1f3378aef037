"""Every faster path gives the reference validator's answers.

The reference validator (``jsonschema`` with ECMA-262 patterns) is the judge. Documents are made by
breaking valid golden examples in one to three places at random; for each of them, in tolerant and
strict mode, the test checks that

- the msgspec fast path never accepts what the reference rejects;
- jsonschema-rs finds the same set of (pointer, keyword) pairs as the reference;
- the public API (``KindValidator.errors``, ``is_valid``, ``Validators.check`` and
  ``check_bytes``) gives the same verdict and the same set of issues, messages included, as the
  reference's errors converted the same way; the order may differ only among errors at one pointer;
- ``max_errors`` keeps exactly that many of them (or all, if fewer), the first in document order.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms_kit.schemas.loading import pointer_of
from rooms_kit.validation import Validators
from rooms_kit.validation.issues import Issue
from rooms_kit.validation.precise import from_reference, issues_from
from tests.support.schema_helpers import EXAMPLES, load_example

TOLERANT = Validators.load()
STRICT = Validators.load(strict=True)
EXAMPLE_DOCUMENTS = [
    load_example(f"valid/{p.name}") for p in sorted((EXAMPLES / "valid").glob("*"))
]
INT64_BOUNDS = (-(2**63), 2**63 - 1)


def _values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**64), max_value=2**64),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.from_regex(r"-?[0-9]{1,20}\n?", fullmatch=True),
        st.sampled_from(
            [
                "ROOM_ACTIVE",
                "room_active",
                "PARTICIPANT_LEFT",
                "PLAYER_LEFT",
                "games#room",
                "games#player",
                "9223372036854775807",
                "9223372036854775808",
                "-9223372036854775808",
                "-9223372036854775809",
                "12\n",
                "007",
            ]
        ),
    )
    return st.one_of(
        scalars,
        st.lists(scalars, max_size=3),
        st.dictionaries(st.sampled_from(["kind", "level", "status", "x"]), scalars, max_size=3),
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


@st.composite
def broken_documents(draw: st.DrawFn) -> tuple[str, Any]:
    """A golden example with one to three values replaced, removed or added."""
    document = copy.deepcopy(draw(st.sampled_from(EXAMPLE_DOCUMENTS)))
    kind = document["kind"]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "remove":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "roomStatusVerison", "Kind"]))] = draw(_values())
        else:
            parent[path[-1]] = draw(_values())
    return kind, document


def _pairs(issues: list[Issue]) -> set[tuple[str, str]]:
    return {(issue.pointer, issue.keyword) for issue in issues}


def _issue_key(issue: Issue) -> tuple[str, ...]:
    return (issue.pointer, issue.keyword, issue.message, issue.value or "", issue.expected or "")


@settings(max_examples=400, deadline=None)
@given(broken_documents(), st.booleans(), st.integers(min_value=1, max_value=4))
def test_every_path_gives_the_reference_answers(
    case: tuple[str, Any], strict: bool, limit: int
) -> None:
    kind, document = case
    validators = STRICT if strict else TOLERANT
    checker = validators.kind(kind)
    reference = list(checker._reference.iter_errors(document))
    expected = issues_from(map(from_reference, reference), None)
    valid = not reference

    # The Rust engine alone: the same (pointer, keyword) pairs.
    compiled = validators.engine.validator(kind)
    rust = {
        (pointer_of(v.path), v.keyword) for v in validators.engine.violations(compiled, document)
    }
    assert rust == _pairs(expected)

    # The public API: the same verdict and the same issues, message for message.
    assert checker.is_valid(document) == valid
    found = checker.errors(document)
    assert sorted(map(_issue_key, found)) == sorted(map(_issue_key, expected))
    assert validators.check(document, kind=kind) == found

    # The fast path only ever accepts, and only what the reference accepts.
    raw = json.dumps(document).encode()
    if validators.fast.accepts(raw, kind) or validators.fast.accepts_object(document, kind):
        assert valid
    # From bytes: integers beyond 64 bits are read exactly (validation.numbers), so the bytes get
    # the answers of the document they were written from.
    from_bytes = validators.check_bytes(raw, kind=kind)
    assert sorted(map(_issue_key, from_bytes)) == sorted(map(_issue_key, expected))

    # max_errors keeps the first ones in document order (ties at one pointer in any order).
    bounded = checker.errors(document, max_errors=limit)
    assert len(bounded) == min(limit, len(expected))
    order = [[str(p) for p in issue.pointer.split("/")[1:]] for issue in expected]
    cut = order[len(bounded) - 1] if bounded else None
    for issue in bounded:
        assert _issue_key(issue) in set(map(_issue_key, expected))
        assert cut is None or [str(p) for p in issue.pointer.split("/")[1:]] <= cut


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=-(2**65), max_value=2**65),
    st.sampled_from(["", "\n", " ", "0", "\n\n"]),
    st.sampled_from(["", "0", "+", " "]),
)
def test_int64_strings_follow_the_exact_range_and_ecma_dollar(
    number: int, suffix: str, prefix: str
) -> None:
    text = (prefix + str(number) if number >= 0 else "-" + prefix + str(-number)) + suffix
    # Canonical decimal digits (no sign but a minus, no leading zero, no "-0"), nothing after them.
    canonical = re.fullmatch(r"-?(?:0|[1-9][0-9]*)", text) is not None and text != "-0"
    expected = canonical and INT64_BOUNDS[0] <= int(text) <= INT64_BOUNDS[1]
    document = {"kind": "games#played", "timeMillis": text}
    played = TOLERANT.kind("played")
    assert bool(played._reference.is_valid(document)) == expected
    assert played.is_valid(document) == expected
    compiled = TOLERANT.engine.validator("games#played")
    assert bool(compiled.is_valid(document)) == expected
    raw = orjson.dumps(document)
    assert (TOLERANT.check_bytes(raw) == []) == expected
    if not expected:
        (issue,) = played.errors(document)
        assert (issue.pointer, issue.keyword) == ("/timeMillis", "pattern")


def test_patterns_keep_ecma_dollar_inside_referenced_files() -> None:
    # aggregateStats is a file of its own, reached by $ref from peerChannelDiagnostics; the
    # reference validator must not fall back to Python's "$" (matching before a final newline).
    nested = {"kind": "games#peerChannelDiagnostics", "bytesSent": {"count": "0\n"}}
    for validators in (TOLERANT, STRICT):
        checker = validators.kind("peerChannelDiagnostics")
        assert [
            (pointer_of(e.absolute_path), e.validator)
            for e in checker._reference.iter_errors(nested)
        ] == [("/bytesSent/count", "pattern")]
        assert [(i.pointer, i.keyword) for i in checker.errors(nested)] == [
            ("/bytesSent/count", "pattern")
        ]


def test_cached_wording_never_serves_another_schema_nodes_words() -> None:
    # Each schema node is made and dropped in turn, so Python's free lists hand the next node the
    # same memory (and identity); every issue must still be worded from its own node.
    from rooms_kit.validation.precise import Violation, to_issue  # noqa: PLC0415

    def expected_for(options: list[str]) -> str | None:
        schema = {"type": "string", "enum": list(options)}
        return to_issue(Violation(("status",), "enum", schema["enum"], schema, "x", "")).expected

    for options in (["A", "B"], ["C"], ["D", "E", "F"]) * 50:
        assert expected_for(options) == "one of " + ", ".join(options)

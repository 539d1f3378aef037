"""The precise path's wording: schema violations turned into ``Issue``s with readable messages.

A ``Violation`` is what both engines report, in the same terms: where (the path in the document),
which keyword of which schema node, and the offending value. ``jsonschema`` errors (the reference
validator) and ``jsonschema-rs`` errors (the engine used at run time) are converted to it, so the
messages do not depend on which engine found the problem.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rooms_kit.formats import INT64_MAX, INT64_MIN
from rooms_kit.schemas.loading import pointer_of
from rooms_kit.validation.issues import VALUE_WIDTH, Issue, shorten
from rooms_kit.validation.suggest import closest

if TYPE_CHECKING:
    from jsonschema import ValidationError

NAMED_MEMBERS = 20
"""Unknown members an ``additionalProperties`` issue names; the others are counted."""

_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


@dataclass(slots=True)
class Violation:
    """One failed keyword: the document path, the keyword, its value in the schema, the schema
    node that holds it, the offending value and the engine's own message."""

    path: tuple[str | int, ...]
    keyword: str
    rule: Any
    schema: Mapping[str, Any]
    instance: Any
    message: str


def from_reference(error: ValidationError) -> Violation:
    """A ``jsonschema`` error as a ``Violation``."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    return Violation(
        tuple(error.absolute_path),
        str(error.validator),
        error.validator_value,
        schema,
        error.instance,
        error.message,
    )


def _document_order(violation: Violation) -> list[str]:
    return [str(p) for p in violation.path]


def issues_from(violations: Iterable[Violation], limit: int | None) -> list[Issue]:
    """Convert violations in document order (by pointer), at most ``limit`` of them.

    With a limit, sorting keeps at most a few times that many at once.
    """
    if isinstance(violations, list) and len(violations) <= 1:
        ordered = violations[:limit]
    elif limit is None:
        ordered = sorted(violations, key=_document_order)
    else:
        ordered = []
        for violation in violations:
            ordered.append(violation)
            if len(ordered) > 4 * limit + 64:
                ordered = sorted(ordered, key=_document_order)[:limit]
        ordered = sorted(ordered, key=_document_order)[:limit]
    return [to_issue(violation) for violation in ordered]


# The wording of an issue depends only on the schema node, the keyword and the offending value,
# and the same mistake tends to repeat across a file (a client sending every timestamp as a
# number). Words for plain values are therefore kept, keyed by the identity of the schema node
# and rule and by the value. Each entry also holds the node and the rule themselves, so neither can
# be freed (and its identity reused by another object) while the entry exists; the table is
# emptied when full. Floats are left out: -0.0 equals 0.0 but is written differently.
_WORDING: dict[tuple[Any, ...], tuple[Any, Any, tuple[str, str | None, str | None]]] = {}
_WORDING_LIMIT = 4096
_SCALARS = (str, int, bool, type(None))


def to_issue(error: Violation) -> Issue:
    value = error.instance
    key = None
    if type(value) in _SCALARS and not (type(value) is str and len(value) > 256):
        key = (id(error.schema), id(error.rule), error.keyword, type(value), value)
        found = _WORDING.get(key)
        if found is not None and found[0] is error.schema and found[1] is error.rule:
            return Issue(pointer_of(error.path), error.keyword, *found[2])
    issue = _word(error)
    if key is not None and issue.locate_at is None:
        if len(_WORDING) >= _WORDING_LIMIT:
            _WORDING.clear()
        _WORDING[key] = (error.schema, error.rule, (issue.message, issue.value, issue.expected))
    return issue


def _word(error: Violation) -> Issue:
    keyword = error.keyword
    rule: Any = error.rule
    value = error.instance
    schema = error.schema
    pointer = pointer_of(error.path)
    got = shorten(value)
    found = "null" if value is None else f"{json_type(value)} {got}"
    locate_at = None
    if keyword == "type":
        expected = _expected_type(schema, rule)
        message = f"got {found}"
    elif keyword == "enum":
        expected = "one of " + ", ".join(str(v) for v in rule)
        message = f"{got} is not an allowed value"
    elif keyword == "const":
        expected = shorten(rule)
        message = f"got {got}"
    elif keyword == "pattern":
        if schema.get("format") == "int64":
            message = f"{got} is not an int64 string"
            expected = f"decimal digits in a string, {INT64_MIN}..{INT64_MAX}"
        else:
            message = f"{got} does not match the pattern"
            expected = f"a string matching {rule}"
    elif keyword in ("minimum", "maximum"):
        expected = f"{'at least' if keyword == 'minimum' else 'at most'} {rule}"
        if schema.get("format") == "int32":
            expected += " (int32)"
        message = f"{got} is out of range"
    elif keyword == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        unknown = set(value) - set(known) if isinstance(value, dict) else set()
        # Named one by one (with a hint each) up to a bound: an object of 600,000 unknown members
        # took 6 s of CPU to word, in a message of 6 MB. Only the names shown are sorted: one
        # more than are named is enough for ``got`` too, which shows fewer (60 characters).
        extra = heapq.nsmallest(NAMED_MEMBERS + 1, unknown)
        names = ", ".join(f"{_name(name)}{_hint(name, known)}" for name in extra[:NAMED_MEMBERS])
        if len(unknown) > NAMED_MEMBERS:
            names += f" and {len(unknown) - NAMED_MEMBERS} more"
        message = f"unknown propert{'y' if len(unknown) == 1 else 'ies'} {names}"
        expected = "only " + ", ".join(known)
        got = shorten(extra)
        locate_at = pointer_of([*error.path, extra[0]]) if extra else None
    else:
        expected = f"{keyword}: {shorten(rule)}"
        message = error.message
    return Issue(pointer, keyword, message, got, expected, locate_at=locate_at)


def _expected_type(schema: Mapping[str, Any], rule: Any) -> str:
    fmt = schema.get("format")
    name = rule if isinstance(rule, str) else " or ".join(rule)
    if fmt == "int64":
        return "string (int64 travels as a JSON string)"
    if fmt == "int32":
        return "integer (int32)"
    return str(name)


def _name(name: str) -> str:
    """A member's name quoted, a long one cut to ``VALUE_WIDTH`` characters."""
    if len(name) <= VALUE_WIDTH:
        return repr(name)
    return f"{name[: VALUE_WIDTH - 1]!r}… ({len(name) - VALUE_WIDTH + 1} more characters)"


def _hint(name: str, known: list[str]) -> str:
    if len(name) > VALUE_WIDTH:
        return ""  # no property name is that long
    close = closest(name, known, cutoff=0.75)
    return f" (did you mean {close!r}?)" if close else ""

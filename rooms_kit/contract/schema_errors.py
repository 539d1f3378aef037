"""A body's violations of an OpenAPI schema, described by the Python validator in bounded time.

The Python validator (``OpenApi.validator``) writes the messages the reports quote, but it spends
about 0.15 ms on each room: a wrong list of 18,000 rooms held the caller (the proxy's event loop)
for seconds. Here jsonschema-rs judges each item of a long array on its own, in microseconds, and
the Python validator describes only a copy of the body in which every such array keeps the items
worth describing:

- the first ``DETAILED_ITEMS`` items of the array that jsonschema-rs does not confirm;
- beyond those, the first item that shows a (pointer pattern, keyword) pair not yet described, up
  to ``MAX_NEW_PAIRS`` of them in the whole body, so that the set of distinct violations (what the
  reports keep, one per pair) is the one the Python validator finds in the whole body;
- and the same again inside each item kept (a room's participants).

The indices of the copy are mapped back to the body's, so pointers are the body's; errors come in
the Python validator's order. The failing items left out are counted with jsonschema-rs's errors,
up to ``EXAMINED_ERRORS`` of them; past that, each further failing item counts as one violation
(the count is then a lower bound, ``SchemaErrors.exact`` is False) and is not looked at for
violations not seen yet.
Only arrays and objects whose schemas hold nothing but ``type``, ``items``, ``properties``,
``required``, ``additionalProperties`` and annotations are cut: for those, the items left out
change no other keyword's verdict or message. Anything else is validated whole, as before.

jsonschema-rs is trusted on an item only where it reads the item as Python does: when orjson read
the whole body, or else when orjson writes and reads the item back unchanged (no NaN or Infinity,
no integer beyond 64 bits, no lone surrogate). Other items go to the Python validator, within the
same budget; the ones past it are counted as not judged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

DETAILED_ITEMS = 16  # per array: the items that jsonschema-rs does not confirm, described first
MAX_NEW_PAIRS = 20  # in the whole body: further items described for a violation not yet seen
EXAMINED_ERRORS = 20_000  # in the whole body: errors of the items left out that are read
"""jsonschema-rs makes a Python object of every error it reports (a few microseconds each):
past this many, failing items are only told apart from good ones, and counted."""
ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
     "$comment"}
)  # fmt: skip
OBJECT_KEYWORDS = ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}
ARRAY_KEYWORDS = ANNOTATIONS | {"type", "items"}
_INDEX = re.compile(r"[0-9]+")  # a segment that ``failures.pointer_pattern`` writes as *


@dataclass(frozen=True)
class Problem:
    """One violation as the Python validator words it, at a pointer into the body."""

    pointer: str  # "" for the body itself
    keyword: str
    message: str


@dataclass(frozen=True)
class Skipped:
    """Items of arrays in the body that were left out of the description."""

    items: int = 0
    first: str = ""  # pointer of the first of them


@dataclass(frozen=True)
class SchemaErrors:
    """What is wrong with a body: the violations described and the items left out."""

    problems: tuple[Problem, ...]  # in the Python validator's order
    count: int  # every violation in the body, those of the items left out included
    failing: Skipped = Skipped()  # items jsonschema-rs faults, counted but not described
    unjudged: Skipped = Skipped()  # items it cannot read, past the budget: not judged at all
    exact: bool = True  # False when some failing items were counted as one violation each

    def __bool__(self) -> bool:
        return self.count > 0 or self.unjudged.items > 0


Quick = Callable[[dict[str, Any]], Any]  # a schema -> its jsonschema-rs validator, or None
Resolve = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class _Cut:
    """The state of one body's cutting."""

    quick: Quick
    resolve: Resolve
    trusted: bool  # orjson read the whole body: jsonschema-rs reads every part as Python does
    detailed: int
    kept: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)  # cut path -> indices
    # (pointer pattern, keyword) pairs of the items kept for the description so far
    seen: set[tuple[tuple[str, ...], str]] = field(default_factory=set)
    new_pairs: int = 0
    left_out: int = 0  # violations in the failing items left out
    examined: int = EXAMINED_ERRORS  # errors of the items left out still to be read
    exact: bool = True
    failing_items: int = 0
    unjudged_items: int = 0
    first_failing: str = ""
    first_unjudged: str = ""

    def node(self, schema: Any, allowed: frozenset[str]) -> dict[str, Any] | None:
        """The schema behind ``$ref``s when it holds only ``allowed`` keywords, else None."""
        if not isinstance(schema, dict):
            return None
        while "$ref" in schema:
            if not _only(schema, ANNOTATIONS | {"$ref"}):
                return None
            schema = self.resolve({"$ref": schema["$ref"]})
        return schema if _only(schema, allowed) else None

    def cut(self, schema: Any, value: Any, path: tuple[Any, ...], at: tuple[Any, ...]) -> Any:
        """``value`` (at ``path`` in the body, ``at`` in the copy) with its long arrays cut."""
        if isinstance(value, dict):
            node = self.node(schema, OBJECT_KEYWORDS)
            if node is None or node.get("type") != "object":
                return value
            copied = dict(value)
            for name, sub in node.get("properties", {}).items():
                if name in value:
                    copied[name] = self.cut(sub, value[name], (*path, name), (*at, name))
            return copied
        if isinstance(value, list):
            node = self.node(schema, ARRAY_KEYWORDS)
            if (
                node is None
                or node.get("type") != "array"
                or not isinstance(node.get("items"), dict)
            ):
                return value
            return self._items(node["items"], value, path, at)
        return value

    def _items(
        self, schema: dict[str, Any], items: list[Any], path: tuple[Any, ...], at: tuple[Any, ...]
    ) -> list[Any]:
        quick = self.quick(schema)
        if quick is None:
            return items
        kept: list[Any] = []
        indices: list[int] = []
        prefix = _pattern((*path, 0))  # the pattern of every item's pointer
        for index, item in enumerate(items):
            if len(kept) >= self.detailed and self.examined <= 0:  # tell good from bad only
                if not self.trusted and not _readable(item):
                    self.unjudged_items += 1
                    self.first_unjudged = self.first_unjudged or path_pointer((*path, index))
                elif not _passes(quick, item):  # one violation at least, not read any further
                    self._leave_out((*path, index), 1)
                    self.exact = False
                continue
            errors = self._errors(quick, item)
            if errors == []:
                continue
            where = (*path, index)
            if errors is None:  # not readable by jsonschema-rs: the Python validator judges it
                if len(kept) >= self.detailed:
                    self.unjudged_items += 1
                    self.first_unjudged = self.first_unjudged or path_pointer(where)
                    continue
            elif len(kept) >= self.detailed:
                new = not {_pair(prefix, error) for error in errors} <= self.seen
                if not new or self.new_pairs >= MAX_NEW_PAIRS:
                    self._leave_out(where, len(errors))
                    self.examined -= len(errors)
                    continue
                self.new_pairs += 1
            copied = self.cut(schema, item, where, (*at, len(kept)))
            if copied is not item:  # what the description will show of the item: its copy
                errors = self._errors(quick, copied)
            self.seen |= {_pair(prefix, error) for error in errors or ()}
            kept.append(copied)
            indices.append(index)
        self.kept[at] = indices
        return kept

    def _leave_out(self, where: tuple[Any, ...], violations: int) -> None:
        self.failing_items += 1
        self.first_failing = self.first_failing or path_pointer(where)
        self.left_out += violations

    def _errors(self, quick: Any, item: Any) -> list[Any] | None:
        """jsonschema-rs's errors on ``item`` ([] when it matches), or None when it cannot be
        trusted to read the item as Python does."""
        if not self.trusted and not _readable(item):
            return None
        try:
            if quick.is_valid(item):
                return []
            return list(quick.iter_errors(item))
        except (ValueError, TypeError):  # too deep, or a value it cannot take
            return None

    def original(self, path: tuple[Any, ...]) -> tuple[Any, ...]:
        """A path into the copy as the same path into the body."""
        found = list(path)
        for depth, step in enumerate(path):
            indices = self.kept.get(path[:depth])
            if indices is not None and isinstance(step, int):
                found[depth] = indices[step]
        return tuple(found)


def bounded_errors(
    validator: Any, schema: dict[str, Any], body: Any, *, trusted: bool, quick: Quick,
    resolve: Resolve, detailed: int = DETAILED_ITEMS, examined: int = EXAMINED_ERRORS,
) -> SchemaErrors:  # fmt: skip
    """``body``'s violations of ``schema``: the Python ``validator`` describes a cut copy (see
    the module's docstring); ``trusted`` says orjson read the body's bytes."""
    state = _Cut(quick, resolve, trusted, detailed, examined=examined)
    copy = state.cut(schema, body, (), ())
    problems = tuple(
        Problem(path_pointer(state.original(tuple(error.absolute_path))), str(error.validator),
                error.message)
        for error in _iterate(validator, copy)
    )  # fmt: skip
    return SchemaErrors(
        problems,
        len(problems) + state.left_out,
        Skipped(state.failing_items, state.first_failing),
        Skipped(state.unjudged_items, state.first_unjudged),
        state.exact,
    )


def _iterate(validator: Any, value: Any) -> Iterator[Any]:
    return iter(validator.iter_errors(value))


def _passes(quick: Any, item: Any) -> bool:
    try:
        return bool(quick.is_valid(item))
    except (ValueError, TypeError):  # too deep: a failing item, as far as counting goes
        return False


def _only(schema: dict[str, Any], allowed: frozenset[str]) -> bool:
    return all(key in allowed or key.startswith("x-") for key in schema)


def _readable(item: Any) -> bool:
    """Whether orjson writes ``item`` and reads it back equal (so Rust reads it as Python)."""
    try:
        return bool(orjson.loads(orjson.dumps(item)) == item)
    except (TypeError, orjson.JSONEncodeError, orjson.JSONDecodeError):
        return False


def path_pointer(path: tuple[Any, ...] | Any) -> str:
    """The pointer the reports print for a path into a body: its parts as they are, unescaped,
    as the Python validator's messages give them."""
    return "".join(f"/{part}" for part in path)


def _pattern(path: tuple[Any, ...]) -> tuple[str, ...]:
    """The segments of ``pointer_pattern`` of a path (array indices as ``*``)."""
    return tuple("*" if _INDEX.fullmatch(str(part)) else str(part) for part in path)


def _pair(prefix: tuple[str, ...], error: Any) -> tuple[tuple[str, ...], str]:
    """(pointer pattern, keyword) of a jsonschema-rs error on an item whose pattern is
    ``prefix``: what makes violations distinct (``CheckContext.findings``)."""
    keyword = error.schema_path[-1] if error.schema_path else ""
    return (*prefix, *_relative(tuple(error.instance_path))), str(keyword)


@lru_cache(maxsize=4096)
def _relative(path: tuple[Any, ...]) -> tuple[str, ...]:
    return _pattern(path)  # an item's errors repeat the same few paths

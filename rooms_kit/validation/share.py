"""The part of a large invalid document that ``RustEngine.issues`` describes, so that its cost is
bounded by the issues it prints rather than by the errors the document holds.

jsonschema-rs builds a Python object for every error before ``iter_errors`` hands back the first
(about 15 µs each), and each is worded before the first ``max_errors`` in document order can be
kept: an 8 MiB list of 1.2 million wrong values took tens of seconds of CPU to print ten lines.
So the engine describes a copy of the document in which each array of a plain schema (``type``
and ``items`` only, reached through nodes as plain) keeps only:

- the first ``limit`` items that fail, in the order the issues are printed in: a path's parts are
  compared as strings, so item 10 comes before item 2 (``engine._order``); every error inside a
  failing item comes after the array's own and before the next failing item's, so any item past
  those ``limit`` has at least ``limit`` issues printed before each of its own and cannot show;
- when the document nests deeper than ``MAX_DEPTH`` somewhere, also every item that does, since
  an issue with such a value makes the one ``depth`` issue the answer (and the engine's own limit
  of 255 levels must be met as it is on the whole document).

Items are told good or bad with jsonschema-rs's ``is_valid``, which stops at the first error and
builds none: one item at a time, or a slice of them at once. The first failing items in that
string order are found by walking the indices as a tree of decimal digits (0, 1, 10, 100, ...,
11, ...), skipping each subtree whose slices all pass; each level of the tree judges every item at
most once, so the time is bounded by a few passes of the Rust validator over the array.

Objects keep every member they may hold by name, so ``required`` and unknown-property verdicts
(strict mode) are the same; where unknown members are refused, only one of them is kept (the
object is still reported once, and its issue is worded from the document's object); the payload schemas say nothing about an array's length, so dropping good items, or failing
items that cannot show, changes no verdict on what is kept. Kept items stay in their order, so
errors come in the order they would on the whole document, and paths are mapped back to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

from rooms_kit.schemas.nesting import deeper_than

ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
     "$comment", "$schema", "$id", "$defs"}
)  # fmt: skip
OBJECT_KEYWORDS = ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}
ARRAY_KEYWORDS = ANNOTATIONS | {"type", "items"}

Compile = Callable[[dict[str, Any]], Any]  # a schema -> its jsonschema-rs validator
Lookup = Callable[[str], Any]  # an absolute schema location -> the node there


class Share:
    """A document's bounded copy, and how its paths map back to the document."""

    def __init__(self, document: Any, kept: dict[int, list[int]], *, deep: bool) -> None:
        self.document = document  # the document itself when no array was cut
        self._kept = kept  # id of a cut array in the copy -> the document's indices of its items
        self.deep = deep  # whether the document nests past the depth limit somewhere

    def original(self, path: tuple[Any, ...]) -> tuple[Any, ...]:
        """A path into the copy as the same path into the document."""
        if not self._kept:
            return path
        found = list(path)
        node = self.document
        for depth, step in enumerate(path):
            if isinstance(node, list):
                indices = self._kept.get(id(node))
                if indices is not None:
                    found[depth] = indices[step]
            node = node[step]
        return tuple(found)


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Cutter:
    """Builds the ``Share`` of one document (see the module's docstring)."""

    def __init__(
        self, lookup: Lookup, compile_: Compile, limit: int, *, deep: bool, max_depth: int
    ) -> None:
        self._lookup = lookup
        self._compile = compile_
        self.limit = max(limit, 1)
        self.deep = deep
        self.max_depth = max_depth
        self.kept: dict[int, list[int]] = {}

    def share(self, location: str, document: Any) -> Share:
        return Share(self.value(location, document, 0), self.kept, deep=self.deep)

    def node(self, location: str, allowed: frozenset[str]) -> tuple[str, dict[str, Any]] | None:
        """The node at ``location`` behind its ``$ref``s when it holds only ``allowed`` keywords,
        with its own absolute location; else None."""
        for _ in range(64):  # a loop of $refs is not followed forever
            node = self._lookup(location)
            if not isinstance(node, dict):
                return None
            if "$id" in node:
                location = urljoin(location, str(node["$id"])).partition("#")[0] + "#"
            if "$ref" not in node:
                if all(key in allowed for key in node):
                    return location, node
                return None
            if not all(key in ANNOTATIONS or key == "$ref" for key in node):
                return None
            location = urljoin(location, str(node["$ref"]))
            if "#" not in location:
                location += "#"
        return None

    def value(self, location: str, value: Any, level: int) -> Any:
        """``value`` (``level`` steps below the document) with its long arrays cut."""
        if isinstance(value, dict):
            found = self.node(location, OBJECT_KEYWORDS)
            if found is None or found[1].get("type") != "object":
                return value
            where, node = found
            copied: dict[str, Any] | None = None
            properties = node.get("properties", {})
            if not isinstance(properties, dict):
                return value
            for name in properties:
                item = value.get(name)
                if isinstance(item, dict | list):
                    inner = self.value(f"{where}/properties/{escape(name)}", item, level + 1)
                    if inner is not item:
                        copied = dict(value) if copied is None else copied
                        copied[name] = inner
            if node.get("additionalProperties") is False and len(value) > len(properties) + 1:
                trimmed = self._one_unknown(properties, value if copied is None else copied)
                copied = copied if trimmed is None else trimmed
            return value if copied is None else copied
        if isinstance(value, list):
            found = self.node(location, ARRAY_KEYWORDS)
            if (
                found is None
                or found[1].get("type") != "array"
                or not isinstance(found[1].get("items"), dict)
            ):
                return value
            return self._items(f"{found[0]}/items", value, level)
        return value

    def _one_unknown(
        self, properties: dict[str, Any], members: dict[str, Any]
    ) -> dict[str, Any] | None:
        """``members`` with one unknown member left of many, where unknown members are refused:
        jsonschema-rs still reports the object once (its message, which lists every name, is
        not printed: the wording reads the document's object), and builds no message of
        megabytes. Not in a deep document, whose unknown members may hold the deep value."""
        if self.deep:
            return None
        unknown = None
        for name in members:
            if name not in properties:
                if unknown is not None:
                    return {
                        key: item
                        for key, item in members.items()
                        if key in properties or key == unknown
                    }
                unknown = name
        return None

    def _items(self, location: str, items: list[Any], level: int) -> list[Any]:
        if len(items) <= self.limit:
            indices: list[int] | range = range(len(items))
        else:
            indices = self._chosen(location, items, level)
        kept = []
        changed = len(indices) != len(items)
        for index in indices:
            item = items[index]
            inner = self.value(location, item, level + 1) if isinstance(item, dict | list) else item
            changed = changed or inner is not item
            kept.append(inner)
        if not changed:
            return items
        self.kept[id(kept)] = list(indices)
        return kept

    def _chosen(self, location: str, items: list[Any], level: int) -> list[int]:
        one = self._compile({"$ref": location})
        many = self._compile({"items": {"$ref": location}})

        def fails(index: int) -> bool:
            try:
                return not one.is_valid(items[index])
            except ValueError:  # unreadable here: kept, the whole copy answers as the document
                return True

        def any_fails(start: int, stop: int) -> bool:
            try:
                return not many.is_valid(items[start:stop])
            except ValueError:
                return True

        chosen = set(first_failing(len(items), fails, any_fails, self.limit))
        if self.deep:
            budget = self.max_depth - level - 1
            for index, item in enumerate(items):
                if isinstance(item, dict | list) and deeper_than(item, budget) is not None:
                    chosen.add(index)
        return sorted(chosen)


def first_failing(
    count: int, fails: Callable[[int], bool], any_fails: Callable[[int, int], bool], want: int
) -> list[int]:
    """The first ``want`` indices below ``count`` that ``fails``, in the order of their decimal
    strings ("10" before "2"). ``any_fails(start, stop)`` tells whether any index of the range
    fails; it prunes the subtrees of the digit tree (the indices that start with the same digits)
    that hold no failing index."""
    found: list[int] = []
    stack = list(range(9, -1, -1))
    while stack and len(found) < want:
        index = stack.pop()
        if index >= count:
            continue
        if fails(index):
            found.append(index)
        if index and len(found) < want and _below_fails(index, count, any_fails):
            stack.extend(range(index * 10 + 9, index * 10 - 1, -1))
    return found


def _below_fails(index: int, count: int, any_fails: Callable[[int, int], bool]) -> bool:
    """Whether an index that starts with the digits of ``index`` (and is longer) fails."""
    width = 10
    while index * width < count:
        if any_fails(index * width, min((index + 1) * width, count)):
            return True
        width *= 10
    return False


def depth_schema(levels: int) -> dict[str, Any]:
    """A schema that holds a value nesting at most ``levels`` objects and arrays (the value
    itself is level 1), as ``deeper_than(value, levels) is None`` does, for jsonschema-rs."""
    definitions: dict[str, Any] = {}
    for level in range(1, levels + 1):
        child: dict[str, Any] = (
            {"$ref": f"#/$defs/level{level + 1}"}
            if level < levels
            else {"not": {"type": ["array", "object"]}}
        )
        definitions[f"level{level}"] = {"items": child, "additionalProperties": child}
    return {"$defs": definitions, "$ref": "#/$defs/level1"}

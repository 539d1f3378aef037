"""The precise engine used at run time: ``jsonschema-rs`` (Rust) with the reference's answers.

The reference validator (``jsonschema`` in Python, ``rooms_kit.schemas.reference_validator``) is
the judge, but walking a 7 KiB room through it costs milliseconds, almost all of it spent resolving
``$ref``s and creating per-level validator objects. ``jsonschema-rs`` validates the same Draft
2020-12 schemas in microseconds and reports every error with the document path and the absolute
location of the failed keyword; from that location the schema node is read back out of the kit's
own registry, so messages are built from the same facts as before (see ``precise.Violation``).

Its default regular-expression engine gives ``$`` the ECMA-262 meaning (the true end of the
string, not before a trailing newline), which is what ``pattern`` needs; the tests check this on
the int64 pattern, edge values and trailing newlines included. A kind whose schemas this engine
cannot build falls back to the reference validator; the test suite holds both to the same verdicts
and error sets.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from operator import itemgetter
from typing import Any
from urllib.parse import unquote

import jsonschema_rs
import orjson
from referencing import Registry
from referencing.exceptions import Unresolvable

from rooms_kit.schemas import SchemaSet
from rooms_kit.schemas.loading import token_of
from rooms_kit.schemas.strictness import close_objects
from rooms_kit.validation.depth import MAX_DEPTH, deeper_than, depth_issue
from rooms_kit.validation.issues import Issue
from rooms_kit.validation.precise import Violation, to_issue
from rooms_kit.validation.share import Cutter, Share, depth_schema

# Values whose equality means the same issue: not floats, since -0.0 == 0.0 but they print
# differently. Longer strings are not kept either.
_PLAIN = frozenset({str, int, bool, type(None)})
_PLAIN_STRING_LIMIT = 256
_FIRST = itemgetter(0)
# Issues kept before the table is emptied and starts over.
TABLE_LIMIT = 4096
SHARE_BYTES = 16 * 1024
"""A document whose JSON takes at least this many bytes is described through its ``Share``
(``rooms_kit.validation.share``) when a limit is set; a smaller one holds at most about 8,000
errors, which the engine reads in full."""


class RustEngine:
    """One compiled ``jsonschema-rs`` validator per kind, sharing one registry of the schemas."""

    def __init__(self, schemas: SchemaSet, *, strict: bool) -> None:
        self._lookup: Registry[Any] = schemas.registry(strict=strict)
        self._registry = jsonschema_rs.Registry(
            [
                (schema["$id"], close_objects(schema) if strict else schema)
                for schema in schemas.documents.values()
            ]
        )
        self._validators: dict[str, Any] = {}
        self._nodes: dict[str, tuple[str, Any, Mapping[str, Any]]] = {}
        self._uris = {kind: entry.uri for kind, entry in schemas.kinds.items()}
        # Issues worked out once and reused while the same mistake repeats (see ``issues``).
        self._issues: dict[tuple[Any, ...], tuple[tuple[str, ...], Issue]] = {}
        self._parts: dict[str, Any] = {}  # schema (as JSON) -> validator, for shares
        self._depth: Any = None  # the validator of depth_schema(MAX_DEPTH), once needed
        self.pulled = 0  # errors read from jsonschema-rs by ``issues`` (the tests count them)

    def validator(self, kind: str) -> Any:
        """The compiled validator of ``kind`` (``games#…``); raises if the engine cannot build it."""
        found = self._validators.get(kind)
        if found is None:
            found = jsonschema_rs.Draft202012Validator(
                {"$ref": self._uris[kind]}, registry=self._registry
            )
            self._validators[kind] = found
        return found

    def violations(self, validator: Any, document: Any) -> list[Violation]:
        """Every violation of ``document``; raises ``ValueError`` for values nested past 255."""
        found = []
        node = self._node
        for error in validator.iter_errors(document):
            keyword, rule, schema = node(error)
            path = tuple(error.instance_path)
            # The offending value is taken from the document itself: the engine's copy of it has
            # its object keys sorted, and the messages show values as the document has them.
            found.append(Violation(path, keyword, rule, schema, _at(document, path), error.message))
        return found

    def issues(
        self,
        validator: Any,
        document: Any,
        limit: int | None,
        *,
        kind: str | None = None,
        trusted: bool = False,
    ) -> list[Issue]:
        """The issues of ``document`` in document order, at most ``limit`` of them.

        The same answers as ``issues_from`` over ``violations`` (the tests hold them together),
        with less work per error. An issue depends only on the failed keyword's place in the
        schemas, the path in the document and the offending value, and a client that gets
        something wrong tends to get it wrong the same way in every document; so issues about
        plain values are kept, keyed by those three, and a repeated mistake costs one look-up.
        A value that nests past ``MAX_DEPTH`` makes the one ``depth`` issue the answer. Raises
        ``ValueError`` for a document nested past the engine's own limit.

        With a ``limit`` and the ``kind`` of ``validator``, a large document is described
        through its bounded share (``rooms_kit.validation.share``), with the same answers.
        ``trusted`` says the document was read from JSON by orjson; any other is first checked
        to read back equal from its JSON (else it is described whole, as jsonschema-rs may not
        read it as Python does).
        """
        share = None
        if limit is not None and kind is not None:
            share = self._share(kind, document, limit, trusted=trusted)
        # Whether a value may nest past MAX_DEPTH: not in a share's document found shallow.
        shallow = share is not None and not share.deep
        found: list[tuple[tuple[str, ...], Issue]] = []
        known = self._issues
        deep: Issue | None = None
        bound = sys.maxsize if limit is None else 4 * limit + 64  # keep memory bounded
        pulled = 0
        for error in validator.iter_errors(document if share is None else share.document):
            pulled += 1
            if deep is not None:
                continue  # the answer is decided; let the engine finish
            path = tuple(error.instance_path)
            if share is not None:
                path = share.original(path)
            value = document
            for step in path:
                value = value[step]
            sort = type(value)
            location = error.absolute_keyword_location
            if (
                sort in _PLAIN
                and location is not None
                and not (sort is str and len(value) > _PLAIN_STRING_LIMIT)
            ):
                key = (location, path, sort, value)
                entry = known.get(key)
                if entry is None:
                    entry = (_order(path), self._issue(error, path, value))
                    if len(known) >= TABLE_LIMIT:
                        known.clear()
                    known[key] = entry
            else:
                if not shallow and isinstance(value, dict | list):
                    below = deeper_than(value, MAX_DEPTH - len(path))
                    if below is not None:
                        deep = depth_issue((*path, *below))
                        continue
                entry = (_order(path), self._issue(error, path, value))
            found.append(entry)
            if len(found) > bound:
                found.sort(key=_FIRST)
                del found[limit:]
        self.pulled += pulled
        if deep is not None:
            return [deep]
        if len(found) > 1:
            found.sort(key=_FIRST)
        return [issue for _, issue in found[:limit]]

    def _share(self, kind: str, document: Any, limit: int, *, trusted: bool) -> Share | None:
        """The bounded copy of a large ``document``, or None to describe it whole."""
        try:
            raw = orjson.dumps(document)
        except (TypeError, orjson.JSONEncodeError):  # not JSON: described whole, as before
            return None
        if len(raw) < SHARE_BYTES:
            return None
        if not trusted and orjson.loads(raw) != document:
            return None
        if self._depth is None:
            self._depth = self._part(depth_schema(MAX_DEPTH))
        try:
            deep = not self._depth.is_valid(document)
        except ValueError:  # past the engine's own limit
            deep = True
        cutter = Cutter(self._at, self._part, limit, deep=deep, max_depth=MAX_DEPTH)
        try:
            return cutter.share(f"{self._uris[kind]}#", document)
        except Unresolvable:  # not expected with the kit's schemas: described whole
            return None

    def _part(self, schema: dict[str, Any]) -> Any:
        """A validator compiled (once) for ``schema`` over the registry of the kit's schemas."""
        key = orjson.dumps(schema).decode()
        found = self._parts.get(key)
        if found is None:
            found = jsonschema_rs.Draft202012Validator(schema, registry=self._registry)
            self._parts[key] = found
        return found

    def _at(self, location: str) -> Any:
        return self._lookup.resolver().lookup(location).contents

    def _issue(self, error: Any, path: tuple[str | int, ...], value: Any) -> Issue:
        keyword, rule, schema = self._node(error)
        return to_issue(Violation(path, keyword, rule, schema, value, error.message))

    def _node(self, error: Any) -> tuple[str, Any, Mapping[str, Any]]:
        """Keyword, keyword value and schema node of a failed keyword, read from the registry."""
        location: str | None = error.absolute_keyword_location
        if location is None:  # not expected with our schemas (every one has an $id)
            return str(error.schema_path[-1]), None, {}
        cached = self._nodes.get(location)
        if cached is None:
            uri, _, fragment = location.partition("#")
            parent, _, last = fragment.rpartition("/")
            keyword = token_of(unquote(last))
            node = self._lookup.resolver().lookup(f"{uri}#{parent}").contents
            schema = node if isinstance(node, Mapping) else {}
            cached = (keyword, schema.get(keyword), schema)
            self._nodes[location] = cached
        return cached


def _order(path: tuple[str | int, ...]) -> tuple[str, ...]:
    """Sort key of a path: document order as ``issues_from`` has it."""
    return tuple(map(str, path))


def _at(document: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        document = document[step]
    return document

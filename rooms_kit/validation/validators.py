"""The Python API: validate documents (bytes or parsed) against the kind schemas.

    from rooms_kit.validation import Validators
    validators = Validators.load(strict=False)
    room = validators.kind("room")
    room.is_valid(document)      # bool
    room.errors(document)        # list[Issue], empty when valid
    validators.check_bytes(raw)  # list[Issue]; the kind is taken from the document

The CLI, the server stub and the contract tests share these objects.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Any

import orjson

from rooms_kit.schemas import SchemaSet, load_schemas, reference_validator
from rooms_kit.schemas.loading import KIND_PREFIX
from rooms_kit.validation.depth import MAX_DEPTH, deeper_than, depth_issue
from rooms_kit.validation.encoding import sniff, utf8_issue
from rooms_kit.validation.engine import RustEngine
from rooms_kit.validation.fast import FastPath
from rooms_kit.validation.issues import JSON_SYNTAX, KIND, Issue, PlacedIssue, placed, shorten
from rooms_kit.validation.numbers import WideIntegerError, load
from rooms_kit.validation.precise import from_reference, issues_from, json_type
from rooms_kit.validation.suggest import closest


class KindValidator:
    """Validation against one kind's schema.

    Three steps, each only when the one before cannot decide: the msgspec fast path (accepts
    only), jsonschema-rs (verdict and errors, worded by ``RustEngine.issues``), and the reference
    validator for a document the Rust engine cannot take (a Python object that is not JSON, or a
    kind it could not compile).
    """

    def __init__(self, owner: Validators, kind: str) -> None:
        self._owner = owner
        self.kind = kind

    @cached_property
    def _reference(self) -> Any:
        return reference_validator(self._owner.schemas, self.kind, strict=self._owner.strict)

    @cached_property
    def _compiled(self) -> Any | None:
        try:
            return self._owner.engine.validator(self.kind)
        except Exception:  # a schema the Rust engine refuses: the reference validator decides
            return None

    def is_valid(self, document: Any) -> bool:
        verdict = self.quick_verdict(document)
        if verdict is not None:
            return verdict
        try:
            return bool(self._reference.is_valid(document))
        except RecursionError:
            return False  # nested past Python's limit: ``errors`` reports it as ``depth``

    def quick_verdict(self, document: Any) -> bool | None:
        """``is_valid`` without the reference validator, whose time grows with the document
        (milliseconds a room): None when the fast path and jsonschema-rs cannot decide (a value
        the engine cannot read, such as a string holding a lone surrogate, or a kind it could
        not compile)."""
        if self._owner.fast.accepts_object(document, self.kind):
            return True
        compiled = self._compiled
        if compiled is None:
            return None
        try:
            return bool(compiled.is_valid(document))
        except ValueError:
            return None  # not a JSON value the engine can read

    def errors(
        self,
        document: Any,
        *,
        max_errors: int | None = None,
        fast: bool = True,
        trusted: bool = False,
    ) -> list[Issue]:
        """The document's errors in document order (at most ``max_errors``); empty when valid.

        ``fast=False`` skips the fast path, for a caller that has just tried it on the bytes;
        ``trusted=True`` says orjson read the document from JSON (see ``RustEngine.issues``).
        An offending value that nests past ``MAX_DEPTH`` levels makes the one ``depth`` issue the
        answer, instead of a crash deep inside an engine or a message printer.
        """
        if fast and self._owner.fast.accepts_object(document, self.kind):
            return []
        compiled = self._compiled
        if compiled is not None:
            try:
                return self._owner.engine.issues(
                    compiled, document, max_errors, kind=self.kind, trusted=trusted
                )
            except ValueError:
                path = deeper_than(document, MAX_DEPTH)
                if path is not None:
                    return [depth_issue(path)]
                # Not JSON the engine can read (a Python object from an API caller): below, the
                # reference validator decides.
        try:
            violations = [from_reference(error) for error in self._reference.iter_errors(document)]
        except (ValueError, RecursionError):
            path = deeper_than(document, MAX_DEPTH)
            if path is None:
                raise
            return [depth_issue(path)]
        for violation in violations:
            if isinstance(violation.instance, dict | list):
                below = deeper_than(violation.instance, MAX_DEPTH - len(violation.path))
                if below is not None:
                    return [depth_issue((*violation.path, *below))]
        return issues_from(violations, max_errors)


class Validators:
    """One validator per kind, for one unknown-property policy (``strict`` or tolerant)."""

    def __init__(self, schemas: SchemaSet, *, strict: bool = False) -> None:
        self.schemas = schemas
        self.strict = strict
        self.fast = FastPath(schemas, strict=strict)
        self.engine = RustEngine(schemas, strict=strict)
        self._kinds: dict[str, KindValidator] = {}

    @classmethod
    def load(cls, *, strict: bool = False) -> Validators:
        return cls(load_schemas(), strict=strict)

    def kind(self, name: str) -> KindValidator:
        """The validator for ``room`` or ``games#room`` (raises ``UnknownKindError``)."""
        found = self._kinds.get(name)
        if found is not None:
            return found
        kind = self.schemas.kind(name).kind
        if kind not in self._kinds:
            self._kinds[kind] = KindValidator(self, kind)
        return self._kinds[kind]

    def check_bytes(
        self, raw: bytes, *, kind: str | None = None, max_errors: int | None = None
    ) -> list[Issue]:
        """Validate one document given as JSON bytes; ``kind`` forces the schema."""
        if self.fast.accepts(raw, kind):
            return []
        try:
            document = load(raw)
        except orjson.JSONDecodeError as exc:
            return [unreadable_issue(raw, exc)]
        except WideIntegerError as exc:
            return [exc.issue]
        return self.check(document, kind=kind, max_errors=max_errors, fast=False, trusted=True)

    def check(
        self,
        document: Any,
        *,
        kind: str | None = None,
        max_errors: int | None = None,
        fast: bool = True,
        trusted: bool = False,
    ) -> list[Issue]:
        """Validate a parsed document; without ``kind`` the document's own ``kind`` decides.

        ``fast=False`` skips the fast path (the caller has already tried it on the bytes);
        ``trusted=True`` says orjson read the document from JSON.
        """
        if kind is None:
            chosen = self._kind_of(document)
            if isinstance(chosen, Issue):
                return [chosen]
            kind = chosen
        return self.kind(kind).errors(document, max_errors=max_errors, fast=fast, trusted=trusted)

    def _kind_of(self, document: Any) -> str | Issue:
        if not isinstance(document, dict):
            return Issue(
                "",
                "type",
                f"expected a games# object, got {_found(document)}",
                shorten(document),
                "object",
            )
        if "kind" not in document:
            return Issue(
                "",
                KIND,
                "the document has no kind, so no schema can be chosen (pass --kind)",
                None,
                "a kind such as games#room",
            )
        value = document["kind"]
        if isinstance(value, str) and value in self.schemas.kinds:
            return value
        known = self.schemas.kind_names()
        close = closest(str(value), known, cutoff=0.8)
        hint = f" (did you mean {close}?)" if close else ""
        if not isinstance(value, str) or not value.startswith(KIND_PREFIX):
            hint = hint or " (pass --kind to choose a schema)"
        return Issue(
            "/kind", KIND, f"unknown kind {shorten(value)}{hint}", shorten(value), "a games# kind"
        )


def _found(value: Any) -> str:
    """A value named with its JSON type, except null, which is its own name."""
    return "null" if value is None else f"{json_type(value)} {shorten(value)}"


def not_json_issue(exc: orjson.JSONDecodeError) -> Issue:
    """Describe a parse failure; the line is relative to the document's first line."""
    message = exc.msg.split(": line ")[0]
    return placed(JSON_SYNTAX, f"not JSON: {message}", exc.lineno, exc.colno)


def unreadable_issue(raw: bytes, exc: orjson.JSONDecodeError, *, offset: int = 0) -> Issue:
    """Why orjson could not read ``raw``: invalid UTF-8 (which orjson refuses with one message
    for any position) located by ``encoding.utf8_issue``, else the syntax error. ``offset`` is
    where ``raw`` starts in its input, for the byte offset of a bad byte."""
    return utf8_issue(raw, offset=offset) or ndjson_hint(raw, not_json_issue(exc))


TRAILING = "not JSON: unexpected content after document"
NDJSON_HINT = "; this looks like NDJSON: name it .ndjson or .jsonl"


def ndjson_hint(raw: bytes, issue: Issue) -> Issue:
    """``issue`` with a hint when ``raw``, read as one document (a ``.json`` file), is probably
    NDJSON: the content after the document starts a later line and the first line alone is a
    complete JSON value. A ``.json`` file is never read as NDJSON (trailing garbage would hide)."""
    if not (
        isinstance(issue, PlacedIssue)
        and issue.what == TRAILING
        and issue.column == 1
        and (issue.line or 0) > 1
    ):
        return issue
    try:
        sniff(raw.partition(b"\n")[0])
    except orjson.JSONDecodeError:
        return issue
    return replace(issue, message=issue.message + NDJSON_HINT, hint=NDJSON_HINT)

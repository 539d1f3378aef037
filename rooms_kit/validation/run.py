"""Validates a stream of records and resolves where each error sits (file line)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from rooms_kit.validation.issues import Issue
from rooms_kit.validation.locate import ArrayCursor, line_of, pointer_parts
from rooms_kit.validation.numbers import WideIntegerError, load
from rooms_kit.validation.reading import Record
from rooms_kit.validation.validators import Validators, unreadable_issue


@dataclass(slots=True)
class Result:
    """The outcome for one invalid document (valid documents produce no Result).

    An issue whose ``line`` is None sits on the document's own ``line``: so are all the issues of
    a document on one NDJSON line, which therefore need no copy each (``line_of`` gives the line
    of any issue). Not frozen, since one is built for every invalid document; never changed after.
    """

    source: str
    index: int
    line: int
    kind: str | None
    issues: tuple[Issue, ...]

    def line_of(self, issue: Issue) -> int:
        return self.line if issue.line is None else issue.line


@dataclass
class Totals:
    documents: int = 0
    invalid: int = 0
    unreadable: int = 0


# The fast path only pays off when most documents pass it: for an invalid document it is a
# decode that fails part-way before the precise engine starts over. The checker keeps a moving
# average of the share of invalid documents and, while it is above one half, sends documents
# straight to the precise engine. Both routes give the same answers (the tests hold the fast path
# and the engine to the reference validator); only the time differs.
SKIP_FAST_ABOVE = 0.5
SHARE_WEIGHT = 1 / 32


class Checker:
    """Checks records with shared validators; ``kind`` forces one schema for all of them."""

    def __init__(self, validators: Validators, *, kind: str | None, max_errors: int) -> None:
        self.validators = validators
        self.kind = validators.schemas.kind(kind).kind if kind else None
        self.max_errors = max_errors
        self._fast = validators.fast.accepts
        self._invalid_share = 0.0
        self.accepted = 0  # documents taken by ``quick``, which the caller never sees as records
        self._cursor: ArrayCursor | None = None

    def quick(self, raw: bytes) -> bool:
        """True if the fast path accepts these bytes (the document is valid). False: the reader
        marks the record ``declined`` and ``check`` goes straight to the precise engine."""
        share = self._invalid_share
        if share >= SKIP_FAST_ABOVE or not self._fast(raw, self.kind):
            return False
        if share:
            self._invalid_share = share - share * SHARE_WEIGHT
        self.accepted += 1
        return True

    def check(self, record: Record) -> Result | None:
        """The verdict on one record (None when the document is valid)."""
        raw = record.raw
        if (
            not record.declined
            and raw is not None
            and record.problem is None
            and self._invalid_share < SKIP_FAST_ABOVE
            and self._fast(raw, self.kind)
        ):
            self._invalid_share -= self._invalid_share * SHARE_WEIGHT
            return None
        issues, document = self._issues(record)
        if not issues:
            self._invalid_share -= self._invalid_share * SHARE_WEIGHT
            return None
        self._invalid_share += (1.0 - self._invalid_share) * SHARE_WEIGHT
        kind = self.kind or _kind_of(document)
        doc_line = self._doc_line(record)
        return Result(
            record.source, record.index, doc_line, kind, self._locate(record, issues, doc_line)
        )

    def _issues(self, record: Record) -> tuple[list[Issue], Any]:
        """The precise verdict (the fast path has already declined) and the parsed document."""
        if record.problem is not None:
            return [record.problem], None
        document = record.parsed
        if record.raw is not None:
            try:
                document = load(record.raw)
            except orjson.JSONDecodeError as exc:
                return [unreadable_issue(record.raw, exc, offset=record.offset)], None
            except WideIntegerError as exc:
                return [exc.issue], None
        # The fast path has already declined these bytes; do not ask it again.
        # Every document here was read by orjson (a line, a file or an array's element).
        issues = self.validators.check(
            document,
            kind=self.kind,
            max_errors=self.max_errors,
            fast=record.raw is None,
            trusted=True,
        )
        return issues, document

    def _array(self, text: str) -> ArrayCursor:
        """The cursor over the array file ``text`` (one at a time: files are read one by one)."""
        if self._cursor is None or self._cursor.text is not text:
            self._cursor = ArrayCursor(text)
        return self._cursor

    def _doc_line(self, record: Record) -> int:
        if record.text is not None and record.line == 0:
            return self._array(record.text).line_of(record.index - 1, []) or 1
        return record.line

    def _locate(self, record: Record, issues: list[Issue], doc_line: int) -> tuple[Issue, ...]:
        raw = record.raw
        multiline = raw is not None and _spans_lines(raw)
        if record.text is None and not multiline:  # one NDJSON line: every issue is on it
            return tuple(
                [
                    issue if issue.line is None else issue.at_line(record.line + issue.line - 1)
                    for issue in issues
                ]
            )
        located: list[Issue] = []
        text: str | None = None
        for issue in issues:
            if issue.line is not None:  # a syntax error: line within the document
                located.append(issue.at_line(record.line + issue.line - 1))
                continue
            target = issue.locate_at if issue.locate_at is not None else issue.pointer
            if record.text is not None:
                line = self._array(record.text).line_of(record.index - 1, pointer_parts(target))
            else:
                assert record.raw is not None
                text = text or record.raw.decode("utf-8", "replace")
                found = line_of(text, pointer_parts(target))
                line = record.line + found - 1 if found else None
            located.append(issue.at_line(line or doc_line))
        return tuple(located)


def _spans_lines(raw: bytes) -> bool:
    """Whether a document's text has a line break before its trailing whitespace (no copy)."""
    newline = raw.find(b"\n")
    return newline != -1 and bool(raw[newline:].strip())


def _kind_of(document: Any) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("kind"), str):
        return str(document["kind"])
    return None

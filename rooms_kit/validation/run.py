"""Validates a stream of records and resolves where each error sits (file line)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from rooms_kit.validation.issues import Issue
from rooms_kit.validation.locate import line_of, pointer_parts
from rooms_kit.validation.reading import Record
from rooms_kit.validation.validators import Validators, not_json_issue


@dataclass(frozen=True)
class Result:
    """The outcome for one invalid document (valid documents produce no Result)."""

    source: str
    index: int
    line: int
    kind: str | None
    issues: tuple[Issue, ...]


@dataclass
class Totals:
    documents: int = 0
    invalid: int = 0
    unreadable: int = 0


class Checker:
    """Checks records with shared validators; ``kind`` forces one schema for all of them."""

    def __init__(self, validators: Validators, *, kind: str | None, max_errors: int) -> None:
        self.validators = validators
        self.kind = validators.schemas.kind(kind).kind if kind else None
        self.max_errors = max_errors
        self._fast = validators.fast.accepts

    def check(self, record: Record) -> Result | None:
        raw = record.raw
        if raw is not None and record.problem is None and self._fast(raw, self.kind):
            return None
        issues, document = self._issues(record)
        if not issues:
            return None
        kind = self.kind or _kind_of(document)
        return Result(
            record.source, record.index, self._doc_line(record), kind, self._locate(record, issues)
        )

    def _issues(self, record: Record) -> tuple[list[Issue], Any]:
        """The precise verdict (the fast path has already declined) and the parsed document."""
        if record.problem is not None:
            return [record.problem], None
        document = record.parsed
        if record.raw is not None:
            try:
                document = orjson.loads(record.raw)
            except orjson.JSONDecodeError as exc:
                return [not_json_issue(exc)], None
        # The fast path has already declined these bytes; do not ask it again.
        issues = self.validators.check(
            document, kind=self.kind, max_errors=self.max_errors, fast=record.raw is None
        )
        return issues, document

    def _doc_line(self, record: Record) -> int:
        if record.text is not None and record.line == 0:
            return line_of(record.text, [record.index - 1]) or 1
        return record.line

    def _locate(self, record: Record, issues: list[Issue]) -> tuple[Issue, ...]:
        located: list[Issue] = []
        text: str | None = None
        for issue in issues:
            if issue.line is not None:  # a syntax error: line within the document
                located.append(issue.at_line(record.line + issue.line - 1))
                continue
            target = issue.locate_at if issue.locate_at is not None else issue.pointer
            if record.text is not None:
                parts: list[str | int] = [record.index - 1, *pointer_parts(target)]
                line = line_of(record.text, parts)
            elif record.raw is not None and b"\n" in record.raw.rstrip():
                text = text or record.raw.decode("utf-8", "replace")
                found = line_of(text, pointer_parts(target))
                line = record.line + found - 1 if found else None
            else:
                line = None
            located.append(issue.at_line(line or self._doc_line(record)))
        return tuple(located)


def _kind_of(document: Any) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("kind"), str):
        return str(document["kind"])
    return None

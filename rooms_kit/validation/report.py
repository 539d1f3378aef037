"""Output formats: ``text`` for people, ``json`` (one record per line) for machines, ``github``
workflow annotations. Each ends with a one-line summary."""

from __future__ import annotations

from typing import Protocol, TextIO

import orjson

from rooms_kit.validation.run import Result, Totals


def _rate(totals: Totals, seconds: float) -> float:
    return totals.documents / seconds if seconds > 0 else 0.0


def summary_text(totals: Totals, seconds: float) -> str:
    unreadable = f", {totals.unreadable} unreadable" if totals.unreadable else ""
    return (
        f"{totals.documents} document{'' if totals.documents == 1 else 's'}, "
        f"{totals.invalid} invalid{unreadable}, "
        f"{seconds:.2f} s, {_rate(totals, seconds):,.0f} documents/s"
    )


class TextReport:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def result(self, result: Result) -> None:
        for issue in result.issues:
            where = f"{result.source}:{issue.line}"
            kind = f"{result.kind} " if result.kind else ""
            expected = f"; expected {issue.expected}" if issue.expected else ""
            pointer = issue.pointer or "(root)"
            self.out.write(
                f"{where}: {kind}{pointer}: [{issue.keyword}] {issue.message}{expected}\n"
            )

    def summary(self, totals: Totals, seconds: float) -> None:
        self.out.write(summary_text(totals, seconds) + "\n")


class JsonReport:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def result(self, result: Result) -> None:
        for issue in result.issues:
            record = {
                "type": "error",
                "file": result.source,
                "line": issue.line,
                "document": result.index,
                "kind": result.kind,
                **issue.to_json(),
            }
            self.out.write(orjson.dumps(record).decode() + "\n")

    def summary(self, totals: Totals, seconds: float) -> None:
        record = {
            "type": "summary",
            "documents": totals.documents,
            "invalid": totals.invalid,
            "unreadable": totals.unreadable,
            "seconds": round(seconds, 3),
            "rate": round(_rate(totals, seconds), 1),
        }
        self.out.write(orjson.dumps(record).decode() + "\n")


def _escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


class GithubReport:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def result(self, result: Result) -> None:
        for issue in result.issues:
            title = f"{result.kind or 'document'} {issue.pointer or '(root)'} [{issue.keyword}]"
            expected = f"; expected {issue.expected}" if issue.expected else ""
            self.out.write(
                f"::error file={_escape(result.source, property_value=True)},line={issue.line},"
                f"title={_escape(title, property_value=True)}::{_escape(issue.message + expected)}\n"
            )

    def summary(self, totals: Totals, seconds: float) -> None:
        self.out.write(f"::notice title=rooms-kit validate::{summary_text(totals, seconds)}\n")


class Report(Protocol):
    def __init__(self, out: TextIO) -> None: ...

    def result(self, result: Result) -> None: ...

    def summary(self, totals: Totals, seconds: float) -> None: ...


REPORTS: dict[str, type[Report]] = {"text": TextReport, "json": JsonReport, "github": GithubReport}

"""Output formats: ``text`` for people, ``json`` (one record per line) for machines, ``github``
workflow annotations. Each ends with a one-line summary.

A path that cannot be read (missing, unreadable, a broken gzip stream, a folder or pattern naming
no file, standard input closed) is told on standard error in every format; ``json`` adds a record
for it (``"keyword": "read"``, no line, document or kind) and ``github`` an ``::error`` annotation,
so that a machine reading standard output sees which path it was, not only a count.

Lines are gathered and written in pieces of about ``CHUNK_CHARS`` characters, one ``write`` (and
one system call) per piece, whatever Python's buffering settings (``PYTHONUNBUFFERED`` makes every
``write`` on standard output a system call). On a terminal, and while reading standard input
(``follow``), which may be a live stream such as ``tail -f capture.ndjson``, each document's lines
are written as soon as it is checked. ``flush`` writes what is pending; the command calls it
before anything goes to standard error and when it stops for any reason, so nothing is lost and
the order holds.
"""

from __future__ import annotations

from typing import Any, Protocol, TextIO

import orjson

from rooms_kit.validation.run import Result, Totals

READ = "read"  # the keyword of a path that could not be read


def _rate(totals: Totals, seconds: float) -> float:
    return totals.documents / seconds if seconds > 0 else 0.0


def summary_text(totals: Totals, seconds: float) -> str:
    unreadable = f", {totals.unreadable} unreadable" if totals.unreadable else ""
    return (
        f"{totals.documents} document{'' if totals.documents == 1 else 's'}, "
        f"{totals.invalid} invalid{unreadable}, "
        f"{seconds:.2f} s, {_rate(totals, seconds):,.0f} documents/s"
    )


CHUNK_CHARS = 64 * 1024


class _Buffered:
    """Pending output lines for ``out``, written in large pieces (see the module's docstring)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._pending: list[str] = []
        self._size = 0
        try:
            self._interactive = out.isatty()
        except (AttributeError, ValueError):
            self._interactive = False
        self._limit = 1 if self._interactive else CHUNK_CHARS

    def follow(self, live: bool) -> None:
        """``live``: the input may be a stream that trickles in (standard input), so each
        document's lines go out as soon as it is checked; otherwise in large pieces."""
        self.flush()
        self._limit = 1 if live or self._interactive else CHUNK_CHARS

    def _add(self, line: str) -> None:
        self._pending.append(line)
        self._size += len(line)

    def _done(self) -> None:
        """One document's lines are in: write them out if enough is pending."""
        if self._size >= self._limit:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._size = 0
            self.out.write(text)
        self.out.flush()


class TextReport(_Buffered):
    def result(self, result: Result) -> None:
        source = result.source
        kind = f"{result.kind} " if result.kind else ""
        add = self._add
        for issue in result.issues:
            expected = f"; expected {issue.expected}" if issue.expected else ""
            add(
                f"{source}:{result.line_of(issue)}: {kind}{issue.pointer or '(root)'}: "
                f"[{issue.keyword}] {issue.message}{expected}\n"
            )
        self._done()

    def unreadable(self, source: str, message: str) -> None:
        """Nothing here: the command's error line on standard error says it to people."""

    def summary(self, totals: Totals, seconds: float) -> None:
        self._add(summary_text(totals, seconds) + "\n")
        self.flush()


def _json_line(record: dict[str, Any]) -> str:
    """``record`` as one line of JSON. A string holding a lone surrogate cannot be written as
    JSON: a file name whose bytes are not UTF-8 (Python keeps each such byte as one), or a
    ``"\\ud800"`` escape in a document. Such strings are written with escapes instead
    (``bad\\xff.json``), so that the record is still there."""
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode()
    except TypeError:
        escaped = {key: _escaped(value) for key, value in record.items()}
        return orjson.dumps(escaped, option=orjson.OPT_APPEND_NEWLINE).decode()


def _escaped(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:  # a byte of a file name that was not UTF-8: shown as that byte
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # another lone surrogate: shown as its escape
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


class JsonReport(_Buffered):
    def result(self, result: Result) -> None:
        add = self._add
        dumps = orjson.dumps
        for issue in result.issues:
            record = {
                "type": "error",
                "file": result.source,
                "line": result.line if issue.line is None else issue.line,
                "document": result.index,
                "kind": result.kind,
                **issue.to_json(),
            }
            try:
                add(dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode())
            except TypeError:  # rare: see _json_line
                add(_json_line(record))
        self._done()

    def unreadable(self, source: str, message: str) -> None:
        """The same fields as an error record; those that belong to a document are null."""
        record = {
            "type": "error",
            "file": source,
            "line": None,
            "document": None,
            "kind": None,
            "pointer": None,
            "keyword": READ,
            "message": message,
            "value": None,
            "expected": None,
        }
        self._add(_json_line(record))

    def summary(self, totals: Totals, seconds: float) -> None:
        record = {
            "type": "summary",
            "documents": totals.documents,
            "invalid": totals.invalid,
            "unreadable": totals.unreadable,
            "seconds": round(seconds, 3),
            "rate": round(_rate(totals, seconds), 1),
        }
        self._add(orjson.dumps(record).decode() + "\n")
        self.flush()


def _escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


class GithubReport(_Buffered):
    def result(self, result: Result) -> None:
        for issue in result.issues:
            title = f"{result.kind or 'document'} {issue.pointer or '(root)'} [{issue.keyword}]"
            expected = f"; expected {issue.expected}" if issue.expected else ""
            self._add(
                f"::error file={_escape(result.source, property_value=True)},"
                f"line={result.line_of(issue)},"
                f"title={_escape(title, property_value=True)}::{_escape(issue.message + expected)}\n"
            )
        self._done()

    def unreadable(self, source: str, message: str) -> None:
        self._add(f"::error file={_escape(source, property_value=True)}::{_escape(message)}\n")

    def summary(self, totals: Totals, seconds: float) -> None:
        self._add(f"::notice title=rooms-kit validate::{summary_text(totals, seconds)}\n")
        self.flush()


class Report(Protocol):
    def __init__(self, out: TextIO) -> None: ...

    def result(self, result: Result) -> None: ...

    def unreadable(self, source: str, message: str) -> None: ...

    def summary(self, totals: Totals, seconds: float) -> None: ...

    def flush(self) -> None: ...

    def follow(self, live: bool) -> None: ...


REPORTS: dict[str, type[Report]] = {"text": TextReport, "json": JsonReport, "github": GithubReport}

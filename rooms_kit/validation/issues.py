"""What a validation problem looks like: one ``Issue`` per error in a document."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

VALUE_WIDTH = 60

# Keywords the kit adds to JSON Schema's own for problems found before schema validation.
JSON_SYNTAX = "json"  # the bytes are not one JSON value
KIND = "kind"  # no usable kind to choose a schema by
TOO_LARGE = "size"  # the document is larger than the configured limit
DEPTH = "depth"  # the document nests objects and arrays deeper than the kit follows


@dataclass(frozen=True)
class Issue:
    """One error: where (JSON pointer), which rule (keyword), what was found and what was expected."""

    pointer: str
    keyword: str
    message: str
    value: str | None = None  # shortened JSON of the offending value
    expected: str | None = None
    line: int | None = None  # 1-based line within the document's text, where known
    locate_at: str | None = None  # pointer whose line is reported, when not ``pointer`` itself

    def at_line(self, line: int | None) -> Issue:
        """The same issue on ``line``. Copies the fields directly, which costs half as much as
        the constructor (or ``dataclasses.replace``) of a frozen dataclass on a hot path."""
        moved = object.__new__(type(self))
        fields = moved.__dict__
        fields.update(self.__dict__)
        fields["line"] = line
        return moved

    def to_json(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "keyword": self.keyword,
            "message": self.message,
            "value": self.value,
            "expected": self.expected,
        }


def shorten(value: Any, width: int = VALUE_WIDTH) -> str:
    """Render a JSON value compactly, cut to ``width`` characters with an ellipsis."""
    if isinstance(value, str) and len(value) > width * 4:
        value = value[: width * 4]  # do not serialise a 50 MB string to show 60 characters
    if isinstance(value, float) and not math.isfinite(value):  # orjson writes these as null
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # not JSON (a Python caller's object) or nested past orjson's limit
        text = _opening(value)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _opening(value: Any) -> str:
    """A short rendering that never recurses: a nested value shows only its first brackets."""
    opening = ""
    while isinstance(value, dict | list) and len(opening) < VALUE_WIDTH:
        if isinstance(value, dict):
            if not value:
                return opening + "{}"
            key = next(iter(value))
            opening += "{" + orjson.dumps(str(key)).decode() + ":"
            value = value[key]
        else:
            if not value:
                return opening + "[]"
            opening += "["
            value = value[0]
    if len(opening) >= VALUE_WIDTH:
        return opening
    try:
        inner = orjson.dumps(value).decode()
    except TypeError:
        inner = repr(value)  # a scalar here, so repr cannot recurse
    return opening + inner + ("…" if opening else "")  # the closing brackets are left out


@dataclass(frozen=True)
class PlacedIssue(Issue):
    """An issue whose message ends with its place, ``(line L, column C)``: moving it to the line of
    its file (``at_line``, as for the third line of an NDJSON file) words the message again, so
    that it never names the line within the document next to the line of the file."""

    what: str = ""
    column: int = 0
    hint: str = ""  # said after the place, such as "; this looks like NDJSON: …"

    def at_line(self, line: int | None) -> Issue:
        moved = super().at_line(line)
        if line is not None:
            moved.__dict__["message"] = self.worded(line)
        return moved

    def worded(self, line: int) -> str:
        """The message with the place on ``line``."""
        return f"{self.what} (line {line}, column {self.column}){self.hint}"


def placed(keyword: str, what: str, line: int, column: int) -> PlacedIssue:
    """The issue ``what`` at ``line`` and ``column`` of its document (1-based)."""
    return PlacedIssue(
        "", keyword, f"{what} (line {line}, column {column})", line=line, what=what, column=column
    )

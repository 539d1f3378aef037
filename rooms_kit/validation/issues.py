"""What a validation problem looks like: one ``Issue`` per error in a document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

VALUE_WIDTH = 60

# Keywords the kit adds to JSON Schema's own for problems found before schema validation.
JSON_SYNTAX = "json"  # the bytes are not one JSON value
KIND = "kind"  # no usable kind to choose a schema by
TOO_LARGE = "size"  # the document is larger than the configured limit


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
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text

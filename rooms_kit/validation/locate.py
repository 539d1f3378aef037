"""Finds the line on which the value at a JSON pointer starts, in a document's text.

Only used for documents that have errors, so it favours simplicity over speed. It walks the text
without building the document and without recursion, so deep nesting cannot overflow the stack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

_WHITESPACE = " \t\r\n"


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _skip_string(text: str, pos: int) -> int:
    """``pos`` is at an opening quote; return the index after the closing quote."""
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == '"':
            return pos + 1
        pos += 1
    return pos


def _skip_value(text: str, pos: int) -> int:
    """Return the index just after the JSON value that starts at ``pos``."""
    if pos < len(text) and text[pos] == '"':
        return _skip_string(text, pos)
    if pos < len(text) and text[pos] not in "[{":
        while pos < len(text) and text[pos] not in ",]}" + _WHITESPACE:
            pos += 1
        return pos
    depth = 0
    while pos < len(text):
        char = text[pos]
        if char == '"':
            pos = _skip_string(text, pos)
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return pos


def _child(text: str, pos: int, step: str) -> int | None:
    """From the container at ``pos``, return the position of member ``step`` (key or index)."""
    opening = text[pos]
    pos = _skip_ws(text, pos + 1)
    index = 0
    while pos < len(text) and text[pos] not in "]}":
        if opening == "{":
            end = _skip_string(text, pos)
            key = json.loads(text[pos:end])
            pos = _skip_ws(text, end)
            pos = _skip_ws(text, pos + 1)  # the colon
            if key == step:
                return pos
        elif str(index) == step:
            return pos
        pos = _skip_ws(text, _skip_value(text, pos))
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        index += 1
    return None


def line_of(text: str, parts: Sequence[str | int]) -> int | None:
    """1-based line of the value at ``parts`` within ``text``; None if it cannot be found."""
    pos = _skip_ws(text, 0)
    for step in parts:
        if pos >= len(text) or text[pos] not in "[{":
            return None
        found = _child(text, pos, str(step))
        if found is None:
            return None
        pos = found
    return text.count("\n", 0, pos) + 1


def pointer_parts(pointer: str) -> list[str]:
    """Split an RFC 6901 pointer into its unescaped reference tokens."""
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]

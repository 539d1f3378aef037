"""Finds the line on which the value at a JSON pointer starts, in a document's text.

Only used for documents that have errors. It walks the text without building the document and
without recursion, so deep nesting cannot overflow the stack; the elements of an array file are
walked once, in order, by ``ArrayCursor``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rooms_kit.schemas.loading import token_of

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
    return line_from(text, _skip_ws(text, 0), 1, parts)


def line_from(text: str, pos: int, line: int, parts: Sequence[str | int]) -> int | None:
    """Like ``line_of``, for the value that starts at ``pos`` (on line ``line``) of ``text``."""
    start = pos
    for step in parts:
        if pos >= len(text) or text[pos] not in "[{":
            return None
        found = _child(text, pos, str(step))
        if found is None:
            return None
        pos = found
    return line + text.count("\n", start, pos)


class ArrayCursor:
    """Walks the elements of one JSON array text forwards, keeping only where it is.

    The elements of an array file are checked in order, so finding element ``i`` continues from
    element ``i - 1`` instead of starting over at the top: locating errors in every element of
    an array costs one pass over the text, not one pass per element. Asking for an earlier
    element starts the walk again from the top.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._restart()

    def _restart(self) -> None:
        text = self.text
        pos = _skip_ws(text, 0)
        first = _skip_ws(text, pos + 1) if pos < len(text) and text[pos] == "[" else len(text)
        self._index = 0  # the element that starts at ``self._pos``
        self._pos = first
        self._line = text.count("\n", 0, first) + 1

    def element(self, index: int) -> tuple[int, int] | None:
        """(position, line) where element ``index`` (0-based) starts; None past the end."""
        if index < self._index:
            self._restart()
        text = self.text
        while self._index < index:
            pos = self._pos
            if pos >= len(text) or text[pos] == "]":
                return None
            after = _skip_ws(text, _skip_value(text, pos))
            if after < len(text) and text[after] == ",":
                after = _skip_ws(text, after + 1)
            self._line += text.count("\n", pos, after)
            self._pos, self._index = after, self._index + 1
        if self._pos >= len(text) or text[self._pos] == "]":
            return None
        return self._pos, self._line

    def line_of(self, index: int, parts: Sequence[str | int]) -> int | None:
        """1-based line of the value at ``parts`` within element ``index``."""
        found = self.element(index)
        if found is None:
            return None
        return line_from(self.text, found[0], found[1], parts)


def pointer_parts(pointer: str) -> list[str]:
    """Split an RFC 6901 pointer into its unescaped reference tokens."""
    if not pointer:
        return []
    return [token_of(p) for p in pointer.split("/")[1:]]

"""Finding where a document's bytes stop being UTF-8, and saying so.

JSON text exchanged between systems must be UTF-8 (RFC 8259, section 8.1). msgspec, the fast path,
skips the members a struct does not declare without looking at their bytes, so a document with a
bad byte in such a member would pass; ``FastPath.accepts`` therefore asks ``is_utf8`` first. That
costs one ``bytes.isascii()`` for the usual all-ASCII document and a strict decode for the others.

The error is located in three ways, all counted from the start of the input (a file, its
decompressed content for ``.gz``, or standard input): the line (1-based, lines end at ``\\n``), the
column (1-based, counted in characters of the decoded text between the line's start and the bad
byte; a byte-order mark ignored at the start of the file is not counted) and the byte offset
(0-based, every byte counted, a byte-order mark included): ``tail -c +$((OFFSET + 1))`` or
``xxd -s OFFSET`` lands on the bad byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from rooms_kit.validation.issues import JSON_SYNTAX, PlacedIssue

# How many bytes a sequence takes, by its first byte (0xc2..0xf4 are the only valid leads).
_LONG = {**dict.fromkeys(range(0xC0, 0xE0), 2), **dict.fromkeys(range(0xE0, 0xF0), 3)}
_LONG.update(dict.fromkeys(range(0xF0, 0xF8), 4))


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (overlong forms, surrogates and values past U+10FFFF are not)."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class BadUtf8(PlacedIssue):
    """The ``json`` issue of a document that is not UTF-8. As any ``PlacedIssue``, it is worded
    again when moved to another line (the line of the document in its file, or of a piece of a
    file split by ``--jobs`` in the whole file); its place also holds the byte offset."""

    offset: int = 0
    detail: str = ""

    def worded(self, line: int) -> str:
        return wording(line, self.column, self.offset, self.detail)


def wording(line: int, column: int, offset: int, detail: str) -> str:
    return (
        f"not JSON: invalid UTF-8 at line {line}, column {column} (byte offset {offset}): {detail}"
    )


def utf8_issue(data: bytes, *, offset: int = 0) -> BadUtf8 | None:
    """The issue of the first invalid UTF-8 sequence in ``data``, None when there is none.

    ``offset`` is the byte offset of ``data`` in its input; the line is counted within ``data``
    (``at_line`` moves it to the line of the input).
    """
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = data.rfind(b"\n", 0, start) + 1
        line = data.count(b"\n", 0, start) + 1
        column = len(data[line_start:start].decode("utf-8")) + 1
        detail = describe(data, start, exc.end, str(exc.reason))
        return BadUtf8(
            "",
            JSON_SYNTAX,
            wording(line, column, offset + start, detail),
            line=line,
            column=column,
            offset=offset + start,
            detail=detail,
        )
    return None


def _hex(data: bytes) -> str:
    return " ".join(f"0x{byte:02x}" for byte in data)


def _sequence(data: bytes, start: int) -> bytes:
    """The lead byte at ``start`` and the continuation bytes (0x80..0xbf) that follow it, up to
    the length the lead byte announces."""
    end = start + 1
    limit = min(len(data), start + _LONG.get(data[start], 1))
    while end < limit and 0x80 <= data[end] <= 0xBF:
        end += 1
    return data[start:end]


def describe(data: bytes, start: int, end: int, reason: str) -> str:
    """The bad bytes in hexadecimal and what is wrong with them, from what Python's strict
    decoder found at ``data[start:end]``: a byte no sequence may start with, a sequence cut
    short by a byte that cannot continue it, or one cut short by the end of the input. Overlong
    encodings, UTF-16 surrogates and values past U+10FFFF are named as such."""
    lead = data[start]
    second = data[start + 1] if start + 1 < len(data) else None
    follows = second is not None and 0x80 <= second <= 0xBF
    if reason == "unexpected end of data":
        return f"{_hex(data[start:end])} (incomplete sequence at the end of the input)"
    if reason == "invalid start byte":
        if lead in (0xC0, 0xC1) and follows:
            return f"{_hex(_sequence(data, start))} (overlong encoding)"
        if 0x80 <= lead <= 0xBF:
            return f"{_hex(data[start : start + 1])} (continuation byte without a lead byte)"
        return f"{_hex(data[start : start + 1])} (invalid start byte)"
    if follows and second is not None:  # invalid continuation: the second byte is out of range
        if (lead == 0xE0 and second < 0xA0) or (lead == 0xF0 and second < 0x90):
            return f"{_hex(_sequence(data, start))} (overlong encoding)"
        if lead == 0xED and second >= 0xA0:
            return f"{_hex(_sequence(data, start))} (UTF-16 surrogate)"
        if lead == 0xF4 and second >= 0x90:
            return f"{_hex(_sequence(data, start))} (beyond U+10FFFF)"
    return f"{_hex(data[start : end + 1])} (invalid continuation byte)"


def sniff(data: bytes) -> Any:
    """``orjson.loads``, except that bad UTF-8 alone does not make ``data`` unreadable: it is read
    again with each bad sequence replaced by U+FFFD. For guessing what a file is (NDJSON or a
    recording) from its first line, so that a bad byte there is reported at its line as in any
    other line, not taken for a reason to read the file another way."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        if is_utf8(data):
            raise
        return orjson.loads(data.decode("utf-8", "replace"))

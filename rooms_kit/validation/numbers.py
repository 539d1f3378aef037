"""Reading JSON whose integers do not fit 64 bits, exactly.

orjson, which reads every document, reads an integer beyond 64 bits as a float (``10**25`` becomes
``1e+25``, and an error message then shows the float, not what was written) and refuses one past
the largest float (``number is infinity when parsed as double``), although both are JSON. Such a
document is read again with Python's ``json``, whose integers are exact. Python reads at most
``sys.get_int_max_str_digits()`` digits (4300 by default; more would take time that grows with the
square of the length), so a longer integer gets its own issue, with its place.

``may_hold_wide_integer`` is cheap enough for every document: one ``bytes.translate`` and two
substring searches, no regular expression.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

import orjson

from rooms_kit.validation.issues import JSON_SYNTAX, Issue, placed

NUMBER_SHAPES = bytes(
    0x30
    if 0x30 <= byte <= 0x39  # a digit: 0
    else byte
    if byte == 0x2D  # a minus sign: kept
    else 0x20
    if byte in b" \t\r\n[:,"  # what may come before a number: a space
    else 0x78  # anything else: x
    for byte in range(256)
)
"""Each byte mapped to what matters for finding a long integer: digits to 0, a minus kept, what
may come before a number to a space, anything else to x."""

WIDE_RUNS = (b" " + b"0" * 20, b" -" + b"0" * 19)
"""Integers that may not fit 64 bits: 20 digits (from 18446744073709551616 on) or 19 after a minus
sign (from -9223372036854775809 on), where a number can begin (after whitespace, ``[``, ``:`` or
``,``). Digits after a point or an exponent's letter belong to no integer, and those inside a
string (an int64 sent as text, as Google's JSON does) mostly follow a quote or a letter; the rare
run in a string that looks like a number only costs the slower reading."""


def may_hold_wide_integer(body: bytes) -> bool:
    """Whether ``body`` may hold an integer that orjson would not read exactly."""
    shapes = b" " + body.translate(NUMBER_SHAPES)
    return any(run in shapes for run in WIDE_RUNS)


class WideIntegerError(ValueError):
    """An integer longer than Python reads; ``issue`` says so and where."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def load(raw: bytes) -> Any:
    """``raw`` as JSON, its integers exact. Raises ``orjson.JSONDecodeError`` when it is not JSON
    (as ``orjson.loads`` does) and ``WideIntegerError`` for an integer longer than Python reads."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "infinity" not in exc.msg or not may_hold_wide_integer(raw):
            raise
        return _exact(raw, exc)
    if may_hold_wide_integer(raw):
        try:
            return _exact(raw, None)
        except (ValueError, RecursionError):  # nested deeper than json reads, say
            return value  # orjson's values are then the next best
    return value


def _exact(raw: bytes, refused: orjson.JSONDecodeError | None) -> Any:
    """``raw`` read by ``json`` (text, not bytes: given bytes it guesses other encodings), with
    orjson's rules kept: no NaN or Infinity. ``refused`` is orjson's error, re-raised when
    ``json`` finds nothing better to say."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        if refused is None:
            raise
        # A real syntax error elsewhere in a body whose long integer orjson refused: json's
        # complaint names it and its place, where orjson's named the integer.
        raise orjson.JSONDecodeError(exc.msg, exc.doc, exc.pos) from None
    except ValueError as exc:  # int()'s digit limit, or NaN / 1e400 refused as orjson does
        if (
            refused is not None
            and not isinstance(exc, json.JSONDecodeError)
            and "digits" in str(exc)
        ):
            limit = sys.get_int_max_str_digits()
            what = f"an integer has more than {limit} digits, more than validate reads"
            raise WideIntegerError(
                placed(JSON_SYNTAX, what, refused.lineno, refused.colno)
            ) from None
        if refused is not None and isinstance(exc, _NotJson):
            # NaN or Infinity after an integer orjson refused: named, where it first stands
            # outside a string (as near as a pattern tells), not orjson's "infinity" there.
            found = CONSTANT.search(text)
            raise orjson.JSONDecodeError(str(exc), text, found.start() if found else 0) from None
        if refused is not None:
            raise refused from None
        raise
    except (RecursionError, UnicodeDecodeError):
        if refused is not None:
            raise refused from None
        raise
    if _holds_lone_surrogate(value):  # json takes "\ud800" alone; orjson, like JSON's RFC, not
        found = LONE_SURROGATE.search(text)
        raise orjson.JSONDecodeError(
            "a string holds a lone surrogate escape (\\ud800 to \\udfff without its pair)",
            text,
            found.start() if found else 0,
        )
    return value


LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
"""An escaped high surrogate without a low one after it, or a low one without a high one."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether a string (or member name) in ``value`` holds a surrogate that json left alone
    (a pair becomes one character)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _finite_float(text: str) -> float:
    """A float as orjson reads it: one past the largest double (``1e400``) is refused."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is past the largest float")
    return value


class _NotJson(ValueError):
    """A value json reads and JSON has not: NaN, Infinity, -Infinity."""


CONSTANT = re.compile(r"(?<=[\[:,\s])-?(?:NaN|Infinity)(?=[\s,\]}]|$)")
"""NaN or Infinity where a value begins: after '[', ':', ',' or a space."""


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON (no NaN or Infinity: JSON has no such number)")

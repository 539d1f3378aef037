"""Reading an HTTP response within bounds, usable without the rest of the suite.

``Limits`` holds the bounds (per-request time, body bytes after decompression, header count and
size, JSON depth). ``BodyReader`` takes the body chunk by chunk as it arrives, decompresses gzip
or deflate as it goes and stops at the cap, so a compression bomb or an endless body never sits
in memory beyond it. ``check_headers`` and ``json_problem`` bound the rest. Every breach raises
``TransportFailure``, named after the check it breaks (``response_size``, ``header_limits``,
``complete_response``, ``http_protocol``, ``responds_in_time``).

Nothing here knows about a run: a proxy can forward a stream through ``BodyReader`` with the same
limits and turn ``TransportFailure`` into its own answer.
"""

from __future__ import annotations

import json
import re
import sys
import time
import zlib
from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import orjson

from rooms_kit.validation.numbers import may_hold_wide_integer

MIB = 1024 * 1024
DEFAULT_REQUEST_TIMEOUT = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 4 * MIB
DEFAULT_MAX_HEADER_COUNT = 100
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_JSON_DEPTH = 512  # the checks parse with Python's json, which stops near 1,000 levels
KEPT_PARTIAL_BYTES = 16 * 1024  # what a failure keeps of a body it gave up on

# gzip or zlib container, whichever the header says (deflate servers send zlib streams).
_AUTO_WBITS = 32 + zlib.MAX_WBITS
DECODINGS = ("gzip", "x-gzip", "deflate")


@dataclass(frozen=True)
class Limits:
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT  # seconds: connect, and the whole answer
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES  # body bytes after decompression
    max_header_count: int = DEFAULT_MAX_HEADER_COUNT
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES  # the whole header block
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH


class TransportFailure(Exception):
    """The answer broke a bound or the protocol; ``check`` names the rule, ``partial`` keeps the
    start of whatever body arrived."""

    def __init__(
        self,
        check: str,
        title: str,
        message: str = "",
        *,
        status: int = 0,
        headers: tuple[tuple[str, str], ...] = (),
        partial: bytes = b"",
    ) -> None:
        super().__init__(f"[{check}] {title}" + (f": {message}" if message else ""))
        self.check = check
        self.title = title
        self.message = message
        self.status = status
        self.headers = headers
        self.partial = partial[:KEPT_PARTIAL_BYTES]


def check_headers(headers: tuple[tuple[str, str], ...], limits: Limits) -> None:
    """Raise ``header_limits`` when there are too many headers or they are too large."""
    if len(headers) > limits.max_header_count:
        raise TransportFailure(
            "header_limits",
            f"{len(headers)} response headers, more than {limits.max_header_count}",
            headers=headers[:20],
        )
    size = sum(len(name) + len(value) + 4 for name, value in headers)
    if size > limits.max_header_bytes:
        raise TransportFailure(
            "header_limits",
            f"response headers of {size} bytes, more than {limits.max_header_bytes}",
            headers=tuple((name, value[:200]) for name, value in headers[:20]),
        )


def content_coding(headers: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str | None:
    """Every ``content-encoding`` of an answer as one list: two such headers mean the same as one
    with both values (RFC 9110), so ``gzip`` twice is a body compressed twice, never once."""
    codings = [value for name, value in headers if name.lower() == "content-encoding"]
    return ", ".join(codings) if codings else None


class BodyReader:
    """Collects a body from its chunks: decompressed, capped, and on time.

    ``started`` is when the request went out (``time.monotonic()``); a body still arriving
    ``limits.request_timeout`` seconds later is a slow drip and fails ``responds_in_time``.
    """

    def __init__(
        self,
        limits: Limits,
        content_encoding: str | None,
        *,
        started: float,
        status: int = 0,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.limits = limits
        self.started = started
        self.status = status
        self.headers = headers
        self.wire_bytes = 0
        self._parts: list[bytes] = []
        self._size = 0
        codings = [
            part.strip().lower()
            for part in (content_encoding or "").split(",")
            if part.strip() and part.strip().lower() != "identity"
        ]
        unknown = [coding for coding in codings if coding not in DECODINGS]
        if unknown or len(codings) > 1:
            raise self._failure(
                "http_protocol",
                f"content encoding {content_encoding!r} was not asked for",
                "the suite accepts gzip or deflate, once",
            )
        self._inflate = zlib.decompressobj(_AUTO_WBITS) if codings else None

    def _failure(self, check: str, title: str, message: str = "") -> TransportFailure:
        return TransportFailure(
            check,
            title,
            message,
            status=self.status,
            headers=self.headers,
            partial=b"".join(self._parts)[:KEPT_PARTIAL_BYTES],
        )

    @property
    def kept(self) -> int:
        """Bytes of the body kept so far (after decompression)."""
        return self._size

    def _keep(self, data: bytes) -> None:
        if not data:
            return
        self._size += len(data)
        if self._size > self.limits.max_response_bytes:
            raise self._failure(
                "response_size",
                f"body larger than {self.limits.max_response_bytes} bytes"
                + (" after decompression" if self._inflate is not None else ""),
                f"reading stopped at the cap after {self.wire_bytes} bytes on the wire",
            )
        self._parts.append(data)

    def feed(self, chunk: bytes) -> None:
        self.wire_bytes += len(chunk)
        self.check_time()
        if self._inflate is None:
            self._keep(chunk)
            return
        room = self.limits.max_response_bytes - self._size + 1
        try:
            self._keep(self._inflate.decompress(chunk, room))
            while self._inflate.unconsumed_tail:
                room = self.limits.max_response_bytes - self._size + 1
                self._keep(self._inflate.decompress(self._inflate.unconsumed_tail, room))
        except zlib.error as exc:
            raise self._failure(
                "http_protocol", "the compressed body does not decompress", str(exc)
            ) from None

    def check_time(self) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.limits.request_timeout:
            raise self._failure(
                "responds_in_time",
                f"no complete answer within the request timeout of {self.limits.request_timeout:g} s",
                f"the body was still arriving after {elapsed:.1f} s "
                f"({self.wire_bytes} bytes so far)",
            )

    def finish_partial(self) -> bytes:
        """What arrived so far (decompressed), cut to what a failure keeps."""
        return b"".join(self._parts)[:KEPT_PARTIAL_BYTES]

    def finish(self) -> bytes:
        if self._inflate is not None:
            try:
                self._keep(self._inflate.flush())
            except zlib.error as exc:
                raise self._failure(
                    "http_protocol", "the compressed body does not decompress", str(exc)
                ) from None
            if not self._inflate.eof and self.wire_bytes:
                raise self._failure("complete_response", "the compressed body ends early")
        return b"".join(self._parts)


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
"""A complete JSON string, escapes included (its brackets do not nest anything)."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEPS = str.maketrans({"[": "\x01", "{": "\x01", "]": "\xff", "}": "\xff"})


def read_json(body: bytes) -> tuple[Any, bool]:
    """``body`` as JSON, and whether orjson read it; raises ``ValueError`` when it is not JSON
    or not safe to parse (``json_problem``).

    orjson reads a text to the same values as Python's json, in about half the time, except
    that it refuses some (NaN and Infinity, numbers past the largest float, lone surrogates)
    and reads an integer beyond 64 bits as a float: json reads a body that orjson refuses or
    that may hold such an integer (``may_hold_wide_integer``; a string that holds a run of digits
    costs only the slower reading). An 8 MiB list of rooms took 0.38 s with json alone, all of
    it in one call that keeps the interpreter lock."""
    if not may_hold_wide_integer(body):
        # orjson first: it refuses invalid UTF-8 and nesting past 1,024 levels itself, and
        # the depth of what it read is then measured on the values (a Python loop, during
        # which other threads get the interpreter lock), not by cutting the strings out of the
        # whole text first (one call of 0.1 s for 8 MiB, holding the lock).
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # json_problem below says why, or json reads it
        else:
            if _deeper_than(value, body, DEFAULT_MAX_JSON_DEPTH):
                raise ValueError(f"JSON nested deeper than {DEFAULT_MAX_JSON_DEPTH} levels")
            return value, True
    problem = json_problem(body)
    if problem is not None:
        raise ValueError(problem)
    # From text, not bytes: given bytes, json.loads guesses UTF-16 or UTF-32 from the NULs
    # (which are valid UTF-8) and skips a UTF-8 byte order mark, and such a body passed.
    try:
        return json.loads(body.decode("utf-8")), False
    except json.JSONDecodeError:
        raise
    except ValueError:  # int() reads at most sys.get_int_max_str_digits() digits
        limit = sys.get_int_max_str_digits()
        raise ValueError(
            f"an integer has more than {limit} digits, more than the checks read"
        ) from None


def _deeper_than(value: Any, body: bytes, max_depth: int) -> bool:
    """Whether ``value`` (read from ``body``) nests arrays and objects more than ``max_depth``
    levels deep, counted as ``json_problem`` counts the brackets of the text."""
    if body.count(b"[") + body.count(b"{") <= max_depth or not isinstance(value, (dict, list)):
        return False
    waiting: list[tuple[Any, int]] = [(value, 1)]
    push, pop = waiting.append, waiting.pop
    while waiting:
        container, depth = pop()
        deeper = depth + 1
        for item in container.values() if type(container) is dict else container:
            if type(item) is dict or type(item) is list:  # orjson makes exactly these
                if deeper > max_depth:
                    return True
                push((item, deeper))
    return False


def json_problem(body: bytes, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> str | None:
    """Why ``body`` cannot be parsed safely (invalid UTF-8, nesting deeper than ``max_depth``);
    None when it can be handed to a JSON parser.

    The depth is found without a Python-level loop over the characters (which took 0.3 s for a
    9 MB list): strings are cut out by a regular expression (an unterminated one runs to the
    end), the brackets left become steps of +1 and -1, and the deepest running total is the
    nesting depth."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}"
    if text.count("[") + text.count("{") <= max_depth:
        return None
    outside = _STRING.sub("", text)
    outside = outside.partition('"')[0]  # a string left open hides everything after it
    steps = _NOT_BRACKET.sub("", outside).translate(_STEPS).encode("latin-1")
    if steps and max(accumulate(array("b", steps))) > max_depth:
        return f"JSON nested deeper than {max_depth} levels"
    return None

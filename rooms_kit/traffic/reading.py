"""Reading recordings back (kept light: ``rooms-kit validate`` imports it for every path).

``lines_of`` yields the exchanges of a file (plain or gzip; each line bounded in size) or the
issue of a line that is not one, ``read_lines`` only the exchanges (stopping at such a line),
``bodies`` the (kind, body) pairs of an exchange that have a schema, and ``check_recording`` the
``rooms-kit validate`` results for every such body, its JSON pointer starting at ``/request`` or
``/response`` of the line (``/requestText`` or ``/responseText`` for a body kept as text).
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import IO, Any

import orjson

from rooms_kit.schemas.loading import pointer_of
from rooms_kit.validation.depth import MAX_DEPTH, deeper_than, depth_issue
from rooms_kit.validation.encoding import sniff, utf8_issue
from rooms_kit.validation.issues import JSON_SYNTAX, KIND, TOO_LARGE, Issue
from rooms_kit.validation.reading import (
    BOM,
    GZIP_MAGIC,
    STDIN,
    InputError,
    Notices,
    Record,
    ndjson_records,
)
from rooms_kit.validation.run import Checker, Result
from rooms_kit.validation.validators import Validators, not_json_issue

FORMAT = 1
VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
"""What a request target is made of: the proxy records it as it came over HTTP/1.1."""
MAX_LINE_BYTES = 64 * 1024 * 1024
TOO_LONG = Issue(
    "",
    TOO_LARGE,
    f"the line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB, the most a recording line "
    "may hold; skipped",
)
NOT_AN_EXCHANGE = Issue(
    "",
    KIND,
    "not a line of a rooms-kit recording (it needs recording: 1, method, path and status)",
)
SNIFF_BYTES = 1024 * 1024


class RecordingError(InputError):
    """A recording that cannot be read or written, with the file and line."""


@contextmanager
def _opened(path: str) -> Iterator[IO[bytes]]:
    """The file's bytes, gzip-decompressed when it starts with gzip's magic number."""
    with open(path, "rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            yield raw
            return
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw) as unpacked:
            yield io.BufferedReader(unpacked)


def lines_of(path: str) -> Iterator[tuple[int, dict[str, Any] | Issue]]:
    """(line number, exchange) for every line of one recording file (gzip or plain), or (line
    number, issue) for a line that is not one: too long, not JSON, not a recording line. Only a
    file that cannot be read at all raises ``RecordingError``."""
    if path == STDIN:
        raise RecordingError(
            "-: a recording is read from files (replay sends each exchange in file order); "
            "standard input is not read, give the recording's path"
        )
    if os.path.isdir(path):
        raise RecordingError(f"{path}: a folder, not a recording file; give the files it holds")
    try:
        with _opened(path) as stream:
            for record in ndjson_records(path, stream, MAX_LINE_BYTES, Notices()):
                if record.problem is not None:  # the only one read from a line: its size
                    yield record.line, TOO_LONG
                    continue
                raw = record.raw or b""
                try:
                    value = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    bad = utf8_issue(raw, offset=record.offset)  # worded as ``validate`` does
                    issue = not_json_issue(exc) if bad is None else bad.at_line(record.line)
                    yield record.line, replace(issue, line=None)
                    continue
                if not is_exchange(value):
                    yield record.line, NOT_AN_EXCHANGE
                    continue
                problem = shape_problem(value)
                if problem is not None:
                    yield record.line, Issue("", KIND, f"not a line the proxy writes: {problem}")
                    continue
                yield record.line, value
    except (OSError, EOFError, zlib.error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RecordingError(f"{path}: cannot read: {reason}") from None


def read_lines(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, exchange) for every line of one recording file; the first line that is not
    an exchange stops the reading with ``RecordingError`` naming it (replay needs every line)."""
    for number, value in lines_of(path):
        if isinstance(value, Issue):
            raise RecordingError(f"{path}:{number}: {value.message}")
        yield number, value


def is_exchange(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and type(value.get("recording")) is int  # not true or 1.0, which equal 1 in Python
        and value["recording"] == FORMAT
        and isinstance(value.get("method"), str)
        and isinstance(value.get("path"), str)
        and type(value.get("status")) is int
    )


def shape_problem(exchange: dict[str, Any]) -> str | None:
    """What in an exchange line the proxy never writes, or None. Both ``validate`` and
    ``replay`` read lines through ``lines_of``, so both refuse such a line alike (a recording
    is a file anyone may edit)."""
    status = exchange["status"]
    if status != 0 and not 100 <= status <= 599:
        return f"its status {status} is not an HTTP status (0 for no answer, or 100 to 599)"
    if not VISIBLE_ASCII.fullmatch(exchange["path"]):
        return "its path is not visible ASCII characters (percent-encode the others)"
    if not isinstance(exchange.get("player", ""), str):
        return "its player is not a string"
    for key in ("operation", "query", "requestText", "responseText"):
        if exchange.get(key) is not None and not isinstance(exchange[key], str):
            return f"its {key} is neither a string nor null"
    return None


def looks_like_recording(path: str) -> bool:
    """True when the first line of the file ``path`` is a recording line (reads at most 1 MiB)."""
    if path == STDIN or not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if compressed else raw  # type: ignore[assignment]
            first = stream.readline(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error):
        return False  # the validator reports what is wrong with the file
    try:
        # A bad byte in the first line is reported at that line, the others are still checked.
        return is_exchange(sniff(first.removeprefix(BOM)))
    except orjson.JSONDecodeError:
        return False


def bodies(
    line: dict[str, Any], kinds: dict[str, tuple[str | None, str | None]]
) -> Iterator[tuple[str, str, Any]]:
    """(where in the line, kind, body) for the bodies of an exchange that have a schema.

    ``kinds`` maps an operation id to its (request kind, response kind); only successful answers
    are checked against the response kind (errors carry the envelope, checked by the proxy). A
    body kept as text (``requestText`` / ``responseText``: not JSON, or nested too deep for a
    line) is yielded as that text, at ``/requestText`` or ``/responseText``, to be parsed as a
    document of its own.
    """
    request_kind, response_kind = kinds.get(str(line.get("operation")), (None, None))
    status = line.get("status", 0)
    for key, kind in (("request", request_kind), ("response", response_kind)):
        if not kind or (key == "response" and not 200 <= status < 300):
            continue
        if line.get(key) is not None:
            yield f"/{key}", kind, line[key]
        elif isinstance(line.get(f"{key}Text"), str):  # not JSON, or too deep for a line
            yield f"/{key}Text", kind, line[f"{key}Text"]


def operation_kinds(validators: Validators) -> dict[str, tuple[str | None, str | None]]:
    """Operation id -> (request kind, response kind), from the schemas' operations.json."""
    return {
        op["id"]: (op.get("requestKind"), op.get("responseKind"))
        for op in validators.schemas.operations["operations"]
    }


def route_problem(line: dict[str, Any], matched: str | None) -> str | None:
    """Why a recording line's operation is not ``matched``, the one of its method and path
    (None outside the API), or None: the proxy records the operation it matched, so another
    one means an edited line. ``validate`` and ``replay`` both refuse it."""
    recorded = line.get("operation")
    if recorded is None or recorded == matched:
        return None
    return (
        f"its operation {str(recorded)[:80]!r} is not that of {line['method'][:16]} "
        f"{line['path'][:200]} ({matched or 'outside the API'})"
    )


@functools.cache
def _api_router() -> Any:
    """The API's routes, loaded once, when a recording line first names an operation (the
    router imports the contract package: too much for every ``validate``)."""
    from rooms_kit.contract.openapi import OpenApi  # noqa: PLC0415
    from rooms_kit.traffic.operations import Router  # noqa: PLC0415

    return Router(OpenApi.load())


def _matched_operation(method: str, path: str) -> str | None:
    route = _api_router().match(method, path)
    return None if route is None else str(route.operation)


def _operation_problem(
    exchange: dict[str, Any], kinds: dict[str, tuple[str | None, str | None]]
) -> str | None:
    """Why the operation recorded on a line is wrong, as replay would refuse it, or None."""
    operation = exchange.get("operation")
    if operation is None:
        return None
    if operation not in kinds:
        return f"not a line the proxy writes: its operation {operation!r} is not the API's"
    mismatch = route_problem(exchange, _matched_operation(exchange["method"], exchange["path"]))
    return None if mismatch is None else f"not a line the proxy writes: {mismatch}"


def check_recording(
    path: str, validators: Validators, *, max_errors: int
) -> Iterator[Result | None]:
    """One item per body checked: None when valid, the located result when not; a line that is
    not an exchange is one result too (its issue: too long, not JSON, not a recording line)."""
    kinds = operation_kinds(validators)
    checkers: dict[str, Checker] = {}
    index = 0
    for line, exchange in lines_of(path):
        if isinstance(exchange, Issue):  # reported at its line; the other lines still checked
            index += 1
            yield Result(path, index, line, None, (exchange,))
            continue
        mismatch = _operation_problem(exchange, kinds)
        if mismatch is not None:
            index += 1
            yield Result(path, index, line, None, (Issue("", KIND, mismatch),))
            continue
        for where, kind, body in bodies(exchange, kinds):
            index += 1
            checker = checkers.get(kind)
            if checker is None:
                checker = checkers[kind] = Checker(validators, kind=kind, max_errors=max_errors)
            replaced = replaced_bytes(body) if where.endswith("Text") else None
            if replaced is not None:  # the body that came was not UTF-8
                yield Result(
                    path, index, line, kind, (replace(replaced, pointer=where, line=line),)
                )
                continue
            try:
                raw = body.encode() if where.endswith("Text") else orjson.dumps(body)
            except orjson.JSONEncodeError:  # deeper than orjson writes: the validators' answer
                deep = deeper_than(body, MAX_DEPTH) or ()
                issue = replace(depth_issue(deep), pointer=where + pointer_of(deep), line=line)
                yield Result(path, index, line, kind, (issue,))
                continue
            # The body is read as a document of its own (from its line 1), so that a syntax
            # error's place is within the body; the result then moves to the recording's line.
            record = Record(path, index, 1, raw=raw)
            found = checker.check(record)
            if found is None:
                yield None
                continue
            issues = tuple(replace(i, pointer=where + i.pointer, line=line) for i in found.issues)
            yield replace(found, kind=kind, line=line, issues=issues)


def replaced_bytes(text: str) -> Issue | None:
    """The issue of a body the recorder kept as text only because its bytes were not UTF-8.

    The recorder keeps a body as text when orjson cannot read it (its bad bytes replaced by
    U+FFFD) or cannot write it inside a line (nested past 253 levels). Text that reads as JSON
    and can be written was therefore kept for its bytes alone; without this, the replaced text
    could pass as a valid document. The bytes themselves are gone: the issue names the first
    U+FFFD, which stands for the first bad sequence unless the body held a U+FFFD of its own
    before it.
    """
    first = text.find("\ufffd")
    if first == -1:
        return None
    try:
        orjson.dumps([orjson.loads(text)])
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None  # kept for another reason: its own issue says which
    line = text.count("\n", 0, first) + 1
    column = first - (text.rfind("\n", 0, first) + 1) + 1
    return Issue(
        "",
        JSON_SYNTAX,
        f"not JSON: invalid UTF-8; the recording keeps the body as text with U+FFFD in place of "
        f"each bad sequence, the first at line {line}, column {column} of the body",
    )

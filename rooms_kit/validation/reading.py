"""Turns paths into a stream of documents: JSON, JSON arrays and NDJSON, plain or gzip-compressed.

NDJSON is streamed line by line, so memory stays flat however long the file is; a single line (or
whole document) longer than ``max_bytes`` is skipped without being held in memory and reported.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from rooms_kit.errors import KitError
from rooms_kit.validation.encoding import sniff
from rooms_kit.validation.globbing import recursive_glob
from rooms_kit.validation.issues import JSON_SYNTAX, TOO_LARGE, Issue
from rooms_kit.validation.numbers import WideIntegerError, load

BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
JSON_SUFFIXES = (".json", *NDJSON_SUFFIXES)
STDIN = "-"
STDIN_NAMES = frozenset({STDIN, "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})
"""Names of standard input, read once whichever of them is given (``expand``)."""
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# Lines of several KiB straddle the default 8 KiB buffer at almost every read; with 1 MiB a
# readline costs a quarter as much.
READ_BUFFER = 1024 * 1024


class InputError(KitError):
    """A path that cannot be read: missing, a directory without inputs, unreadable, bad gzip."""


@dataclass
class Record:
    """One document to validate, with where it came from."""

    source: str
    index: int  # 1-based number of the document within its source
    line: int  # 1-based line where the document starts
    raw: bytes | None = None  # JSON text of the document (NDJSON line or whole file)
    parsed: Any = None  # an element of a JSON array, already parsed
    text: str | None = None  # the whole array's text, for locating lines of elements
    problem: Issue | None = None  # a problem found while reading (too large, not JSON)
    declined: bool = False  # the fast path has already been asked about ``raw`` and said no
    offset: int = 0  # byte offset of ``raw`` in its input (decompressed), to locate a bad byte


@dataclass
class Notices:
    """Things worth telling the user that are not errors (for example a byte-order mark)."""

    messages: list[str] = field(default_factory=list)


def expand(paths: list[str]) -> list[str]:
    """Expand directories and glob patterns into a sorted list of files; ``-`` is standard input.

    A directory without inputs, or a pattern that matches no file, stays in the list as given:
    reading it raises the ``InputError`` that says so (see ``_open``), so it is reported like a
    missing file, in its turn, and the other paths are still read.

    Each file is read once: a file reached again, by the same name or another (a second argument,
    a folder and a pattern that overlap, a link), is dropped, and the first name it had is kept
    (arguments in the order given, the files of each in sorted order). ``**`` enters a folder
    linked into itself once (see ``globbing``). Standard input is read once as well (a second
    ``-`` would find it used up). Paths naming no file are kept every time they are given.
    """
    result: list[str] = []
    for path in paths or [STDIN]:
        if path == STDIN:
            result.append(path)
        elif os.path.isdir(path):
            result.extend(_inputs_in(path) or [path])
        elif _is_pattern(path):
            matches = [p for p in recursive_glob(path) if os.path.isfile(p)]
            result.extend(matches or [path])
        else:
            result.append(path)
    return _once_each(result)


def _once_each(paths: list[str]) -> list[str]:
    """``paths`` without a second name for a file already listed (see ``expand``)."""
    stdin = _identity(None)
    seen: set[object] = set()
    kept: list[str] = []
    for path in paths:
        found = STDIN if path in STDIN_NAMES else _identity(path)
        if found == stdin and found is not None:
            found = STDIN  # another name of standard input, or the file redirected to it
        if found is not None:
            if found in seen:
                continue
            seen.add(found)
        kept.append(path)
    return kept


def _identity(path: str | None) -> tuple[int, int] | None:
    """(device, inode) of ``path``, or of standard input for None; None when there is nothing
    to compare (no such path, a folder, standard input closed). Names differ (``/dev/./stdin``,
    a link, ``//dev/fd/0``), the identity does not."""
    try:
        info = os.fstat(0) if path is None else os.stat(path)
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(info.st_mode):
        return None
    return info.st_dev, info.st_ino


def _inputs_in(folder: str) -> list[str]:
    """The files under ``folder`` that ``validate`` reads (by their names), sorted."""
    return sorted(
        str(p)
        for p in Path(folder).rglob("*")
        if p.is_file() and plain_name(p.name).endswith(JSON_SUFFIXES)
    )


def plain_name(path: str) -> str:
    """The name whose suffix says how a path is read: lower case (``A.JSON`` is a ``.json``
    file, as it is when given directly), without a ``.gz`` ending."""
    return path.lower().removesuffix(".gz")


def is_gzip_name(path: str) -> bool:
    return path.lower().endswith(".gz")


def _is_pattern(path: str) -> bool:
    return any(ch in path for ch in "*?[") and not os.path.exists(path)


def can_split(path: str) -> bool:
    """Plain files can be split across processes (``--jobs``); stdin and gzip streams cannot."""
    return path != STDIN and not is_gzip_name(path) and os.path.isfile(path)


class _OwningGzipFile(gzip.GzipFile):
    """Closes the file it decompresses as well (a plain GzipFile leaves a given ``fileobj`` open)."""

    def __init__(self, inner: IO[bytes]) -> None:
        super().__init__(fileobj=inner, mode="rb")
        self._inner = inner

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._inner.close()


def _open(path: str) -> tuple[IO[bytes], int | None]:
    """Open a path (or stdin) as bytes, decompressing gzip by name or by magic number."""
    if path == STDIN:
        stream: IO[bytes] = sys.stdin.buffer
        size = None
    else:
        # What ``expand`` left as it was given because it names no file to read.
        if os.path.isdir(path) and not _inputs_in(path):
            raise InputError(f"{path}: directory holds no .json, .ndjson or .jsonl files")
        if _is_pattern(path):
            raise InputError(f"{path}: pattern matches no file")
        try:
            stream = open(path, "rb", buffering=READ_BUFFER)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:  # the first read may fail too (an I/O error, /proc/self/mem)
        if path != STDIN:
            size = os.fstat(stream.fileno()).st_size
        head = stream.peek(2)[:2] if isinstance(stream, io.BufferedReader) else b""
    except OSError as exc:
        if path != STDIN:
            stream.close()
        name = "<stdin>" if path == STDIN else path
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if is_gzip_name(path) or head == GZIP_MAGIC:
        if path == STDIN:
            return gzip.GzipFile(fileobj=stream, mode="rb"), None  # type: ignore[return-value]
        return _OwningGzipFile(stream), None  # type: ignore[return-value]
    return stream, size


def is_ndjson(path: str, stream: IO[bytes], max_bytes: int) -> bool:
    name = plain_name(path)
    if name.endswith(NDJSON_SUFFIXES):
        return True
    if name.endswith(".json"):
        return False
    # Unknown name (or stdin): NDJSON when the first line alone is a JSON value and more follows.
    peek = stream.peek(min(max_bytes, 1 << 20)) if hasattr(stream, "peek") else b""
    first, newline, rest = peek.partition(b"\n")
    if not newline or not rest.strip():
        return False
    try:
        sniff(first.removeprefix(BOM))  # a bad byte in that line is reported at its line
    except orjson.JSONDecodeError:
        return False
    return True


def read(
    path: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    notices: Notices,
    accept: Callable[[bytes], bool] | None = None,
) -> Iterator[Record]:
    """Yield the documents of one path; NDJSON lines that ``accept`` takes are skipped."""
    stream, _size = _open(path)
    name = "<stdin>" if path == STDIN else path
    try:
        if not isinstance(stream, io.BufferedReader):
            stream = io.BufferedReader(stream, READ_BUFFER)  # type: ignore[type-var]
        if is_ndjson(path, stream, max_bytes):
            yield from ndjson_records(name, stream, max_bytes, notices, accept=accept)
        else:
            yield from _whole(name, stream, max_bytes, notices)
    except (OSError, EOFError, zlib.error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"{name}: cannot read: {reason}") from None
    finally:
        if path != STDIN:
            stream.close()


@dataclass
class LineCount:
    """How many lines an NDJSON reader consumed (blank ones included) and documents it saw."""

    lines: int = 0
    documents: int = 0


def ndjson_records(
    name: str,
    stream: IO[bytes],
    max_bytes: int,
    notices: Notices | None,
    *,
    budget: int | None = None,
    count: LineCount | None = None,
    accept: Callable[[bytes], bool] | None = None,
    start: int = 0,
) -> Iterator[Record]:
    """Yield one record per non-blank line, numbering lines and documents from 1.

    ``budget`` stops after that many bytes (a piece of a file, for ``--jobs``); ``notices`` is None
    for a piece that does not start the file, where a byte-order mark cannot occur. A line longer
    than ``max_bytes`` is drained without being kept and yields a ``size`` problem. A line that
    ``accept`` (the validators' fast path) takes is counted but not yielded: no record is built for
    a valid document. ``start`` is the byte offset of the stream's position in the input: records
    carry their own (``Record.offset``).
    """
    lineno = index = consumed = 0
    readline = stream.readline
    while budget is None or consumed < budget:
        line = readline(max_bytes + 1)
        if not line:
            break
        offset = start + consumed
        consumed += len(line)
        lineno += 1
        if lineno == 1 and notices is not None and line.startswith(BOM):
            line = line[len(BOM) :]
            offset += len(BOM)
            notices.messages.append(f"{name}: starts with a UTF-8 byte-order mark; ignored")
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while budget is None or consumed < budget:  # drain the rest without keeping it
                chunk = readline(1 << 20)
                consumed += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            index += 1
            yield Record(name, index, lineno, problem=too_large(max_bytes))
            continue
        if line.isspace():  # blank (``line`` is never empty here); no copy, unlike strip()
            continue
        index += 1
        if accept is None:
            yield Record(name, index, lineno, raw=line, offset=offset)
        elif not accept(line):
            yield Record(name, index, lineno, raw=line, declined=True, offset=offset)
    if count is not None:
        count.lines = lineno
        count.documents = index


def _whole(name: str, stream: IO[bytes], max_bytes: int, notices: Notices) -> Iterator[Record]:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        yield Record(name, 1, 1, problem=too_large(max_bytes))
        return
    offset = 0
    if data.startswith(BOM):
        data = data[len(BOM) :]
        offset = len(BOM)
        notices.messages.append(f"{name}: starts with a UTF-8 byte-order mark; ignored")
    if not data.strip():
        yield Record(name, 1, 1, problem=Issue("", JSON_SYNTAX, "not JSON: the input is empty"))
        return
    if data.lstrip()[:1] != b"[":
        yield Record(name, 1, 1, raw=data, offset=offset)
        return
    try:
        items = load(data)
    except (orjson.JSONDecodeError, WideIntegerError):
        # The validator reports where the syntax breaks, or the first byte that is not UTF-8.
        yield Record(name, 1, 1, raw=data, offset=offset)
        return
    if not items:
        notices.messages.append(f"{name}: the array is empty; no documents")
    text: str | None = None
    for number, item in enumerate(items, start=1):
        if text is None:
            text = data.decode("utf-8")
        yield Record(name, number, 0, parsed=item, text=text)


def too_large(max_bytes: int) -> Issue:
    return Issue(
        "",
        TOO_LARGE,
        f"document is larger than {max_bytes} bytes and was skipped (raise --max-bytes)",
    )

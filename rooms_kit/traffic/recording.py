"""Recordings: one NDJSON line per exchange, optionally gzip-compressed, rotated at a size.

A line holds ``recording`` (the format version), ``n`` (the exchange number of the session),
``time`` (UTC, when the request arrived), ``player`` (the caller's alias, never a token),
``method``, ``path``, ``query`` (``oauth_token`` aliased), ``operation`` (or null outside the
API), ``status`` (0: no answer), ``latencyMs``, ``contentType`` (of the answer, without
parameters), and both bodies: ``request`` and ``response`` hold the JSON value when the body is
JSON (null when empty), ``requestText`` / ``responseText`` the text of a body that is not JSON or
is nested too deep to be written in a line (over 253 levels); ``problem`` names a bound the
upstream broke. Lines are written when an exchange completes, so they follow the order of the
answers.

A name ending in ``.gz`` is written gzip-compressed. With a rotation size the lines go on in
``NAME-2.ndjson``, ``NAME-3.ndjson`` … once a file holds that many (uncompressed) bytes; every
file is complete on its own and the aliases stay the same across them.

When a write fails (a full disk, a lost device), the recorder reports it once on standard error,
naming the file and the system's reason, and records nothing more: the proxy goes on forwarding
and checking, and ``failure`` keeps the message so that the proxy exits 2 at its stop.
"""

from __future__ import annotations

import gzip
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TextIO

import orjson

from rooms_kit.traffic.aliases import Aliases
from rooms_kit.traffic.operations import Route
from rooms_kit.traffic.reading import FORMAT, RecordingError
from rooms_kit.traffic.seen import Seen, body_value


def line_of(seen: Seen, route: Route | None) -> dict[str, Any]:
    request, request_text = body_value(seen.request_body)
    response, response_text = body_value(seen.response_body)
    line: dict[str, Any] = {
        "recording": FORMAT,
        "n": seen.number,
        "time": datetime.fromtimestamp(seen.started, UTC).isoformat(timespec="milliseconds"),
        "player": seen.player,
        "method": seen.method,
        "path": seen.path,
        "query": seen.query,
        "operation": route.operation if route else None,
        "status": seen.status,
        "latencyMs": round(seen.latency_ms, 3),
        "contentType": _content_type(seen.response_headers),
        "request": request,
        "response": response,
    }
    if request_text is not None:
        line["requestText"] = request_text
    if response_text is not None:
        line["responseText"] = response_text
    if seen.problem is not None:
        line["problem"] = f"[{seen.problem.check}] {seen.problem.title}"
    return line


def _too_deep_as_text(line: dict[str, Any], seen: Seen) -> dict[str, Any]:
    """``line`` with each JSON body that orjson cannot write inside a line (nested more than
    253 levels, or holding an integer past 64 bits) moved to ``requestText`` / ``responseText``,
    as the text that came."""
    for key, body in (("request", seen.request_body), ("response", seen.response_body)):
        try:
            orjson.dumps([line[key]])  # one level more, as inside the line
        except orjson.JSONEncodeError:
            line[key] = None
            line[f"{key}Text"] = body.decode("utf-8", "replace")
    return line


def _content_type(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";")[0].strip().lower()
    return None


def rotated_name(first: Path, index: int) -> Path:
    """``traffic.ndjson.gz`` -> ``traffic-2.ndjson.gz`` (index 1 is the name itself)."""
    if index == 1:
        return first
    name = first.name
    compressed = name.endswith(".gz")
    base = name.removesuffix(".gz")
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem:
        stem, suffix = base, ""
    rotated = f"{stem}-{index}" + (f".{suffix}" if suffix else "") + (".gz" if compressed else "")
    return first.with_name(rotated)


_ROTATED = re.compile(r"(?P<stem>.+)-(?P<index>[1-9][0-9]{0,8})(?P<rest>(?:\.[^.]+)?(?:\.gz)?)")


def _rotation_of(path: str) -> tuple[str, int]:
    """(the first file's path, this file's index) when ``path`` is named as a rotated file,
    else (``path``, 1)."""
    folder, slash, name = path.rpartition("/")
    found = _ROTATED.fullmatch(name)
    if found is None:
        return path, 1
    first = found["stem"] + found["rest"]
    index = int(found["index"])
    if rotated_name(Path(first), index).name != name:
        return path, 1
    return folder + slash + first, index


def in_rotation_order(paths: list[str]) -> list[str]:
    """``paths`` with the files of each rotated recording in the order they were written
    (``traffic.ndjson``, ``traffic-2.ndjson`` … ``traffic-10.ndjson``), at the place of the
    first of them given; a shell's ``traffic*.ndjson`` lists the first file last and ``-10``
    before ``-2``. Files count as one recording only when its first file (the name without a
    number) is given too, so ``game-2023.ndjson game-2022.ndjson`` keep their order; every other
    path keeps its place."""
    given = set(paths)
    groups: dict[str, list[tuple[int, str]]] = {}
    for path in paths:
        first, index = _rotation_of(path)
        groups.setdefault(first if first in given else path, []).append((index, path))
    ordered: list[str] = []
    for members in groups.values():
        ordered.extend(path for _, path in sorted(members, key=lambda member: member[0]))
    return ordered


def _refuse_earlier_recording(first: Path) -> None:
    """A recording is never written over another: its first file would be replaced and the
    other's rotated files kept, so that ``replay`` of the names in order would mix two sessions
    whose aliases stand for different players."""
    try:
        entries = list(os.scandir(first.parent)) if first.parent.is_dir() else []
        names = [entry.name for entry in entries if entry.is_file()]  # not /dev/null, a FIFO
    except OSError:
        return  # an unreadable folder: opening the file will say what is wrong
    # The name itself (``game-2023.ndjson`` reads as a rotation of another name), and the
    # names this recording would rotate into.
    earlier = sorted(
        (1 if name == first.name else index, name)
        for name in names
        for found, index in [_rotation_of(name)]
        if first.name in (name, found)
    )
    if earlier:
        shown = ", ".join(name for _, name in earlier[:3])
        more = f" and {len(earlier) - 3} more" if len(earlier) > 3 else ""
        raise RecordingError(
            f"{first}: an earlier recording is there ({shown}{more}); a recording never "
            "replaces one: move it away, or give --record another name"
        )


class Recorder:
    """Writes lines; never a token (aliases are applied before, ``scrub`` once more at writing)."""

    def __init__(
        self,
        path: Path,
        aliases: Aliases,
        *,
        rotate_bytes: int | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.first = path
        self.err = err
        self.failure: str | None = None
        self.aliases = aliases
        self.rotate_bytes = rotate_bytes
        self.files: list[Path] = []
        self.lines = 0
        self._size = 0
        self._stream: IO[bytes] | None = None
        # the proxy's judging thread writes; its stop closes, possibly while a write is under way
        # (a second interrupt): a line is written whole before the close, or not at all
        self._lock = threading.Lock()
        self._closed = False
        _refuse_earlier_recording(path)
        self._open(path)

    def _open(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.name.endswith(".gz"):
                self._stream = gzip.GzipFile(path, "wb", compresslevel=6)  # type: ignore[assignment]
            else:
                self._stream = open(path, "wb")
        except OSError as exc:
            raise RecordingError(f"{path}: cannot write: {exc.strerror}") from None
        self.files.append(path)
        self._size = 0

    def write(self, seen: Seen, route: Route | None) -> None:
        with self._lock:
            if self.failure is None and not self._closed:
                self._write(seen, route)

    def _write(self, seen: Seen, route: Route | None) -> None:
        line = line_of(seen, route)
        try:
            text = orjson.dumps(line).decode()
        except orjson.JSONEncodeError:  # a body orjson cannot write (too deep, too wide): its text
            line = _too_deep_as_text(line, seen)
            text = orjson.dumps(line).decode()
        if self.aliases.in_json(text):  # a token in the line: replaced in its values only
            text = orjson.dumps(self.aliases.scrub_line(line)).decode()
        data = (text + "\n").encode()
        try:
            if self.rotate_bytes and self._size and self._size + len(data) > self.rotate_bytes:
                self._close_stream()
                if self.failure is not None:
                    return
                self._open(rotated_name(self.first, len(self.files) + 1))
            assert self._stream is not None
            self._stream.write(data)
            self._stream.flush()
        except RecordingError as exc:
            self._fail(str(exc))
            return
        except OSError as exc:
            self._fail(f"{self.files[-1]}: cannot write: {exc.strerror or exc}")
            return
        self._size += len(data)
        self.lines += 1

    def _fail(self, message: str) -> None:
        """Stop recording for good, saying so once."""
        self.failure = message
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass  # the first reason is the one reported
        if self.err is not None:
            print(
                f"rooms-kit proxy: {message}; recording stopped after {self.lines} line(s), "
                "forwarding and checking go on (exit status 2 at the stop)",
                file=self.err,
                flush=True,
            )

    def close(self) -> None:
        """Close the recording for good (a later ``write`` records nothing)."""
        with self._lock:
            self._closed = True
            self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None and self.failure is None:
            try:
                stream.close()
            except OSError as exc:
                self._fail(f"{self.files[-1]}: cannot write: {exc.strerror or exc}")

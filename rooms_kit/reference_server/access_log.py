"""The access log's handler: whole JSON lines, written in batches off the request path.

Writing each access line to standard error as it comes costs a system call per request, about a
tenth of the CPU of a ``get`` (measured with py-spy; docs/performance.md). This handler keeps the
formatted lines in memory and writes them together: as soon as ``MAX_LINES`` are waiting, and at
least every ``FLUSH_SECONDS`` from a background thread. ``flush`` (called when the server stops)
and ``close`` write whatever is left, so a graceful stop loses nothing; a process killed with
SIGKILL loses at most the last ``FLUSH_SECONDS`` of access lines (never a request or a write).
Lines are never split or interleaved: a batch is written as whole lines, in writes of at most
``ATOMIC_BYTES`` (what a pipe takes in one piece, so the lines of the workers of ``serve
--workers``, which share standard error, never mix), and the handlers of one process take turns
(``STREAM_LOCK``), since the access lines and the events share standard error too.

Only the background thread writes while the server runs, so a reader that stops reading standard
error (a full pipe, a stuck log agent) never stalls a request. Lines then wait in memory, up to
``MAX_PENDING``; beyond that they are dropped and counted, and the first batch written after
says how many were lost, as a warning line of its own.

A handler made with ``verbatim=True`` declares that its formatter writes an access record's
message as it is; the server then hands it finished lines with ``add_line`` (``line_sink``),
skipping the ``LogRecord`` that ``logging`` builds per call (another ~2% of a request's CPU).
Whenever the logger is set up any other way (more handlers, filters, propagation, as under
pytest's ``caplog``), lines go through ``logging`` as usual.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from rooms_api._stub import clip  # the stub's own cut of client text in answers

ACCESS_LOGGER = "rooms_kit.access"
REFUSED_KEY = "rooms_kit.refused"
"""Scope key the connection layer sets to ``(status, body bytes)`` when it, not the application,
answered a request (a body that came too late): the access line then says what the client got."""
FLUSH_SECONDS = 0.2
MAX_LINES = 256
FLUSH_WAIT_SECONDS = 5.0
"""Longest ``flush`` waits for the stream (at exit, or when a server stops)."""
MAX_PENDING = 64 * MAX_LINES
"""Lines held while the stream takes none (about 3 MB); later ones are dropped and counted."""
STREAM_LOCK = threading.Lock()
"""Held by a handler for each write and flush. Two handlers write to the same standard error
(the access lines and the events), each from its own thread; a pipe that is read slowly takes a
large write in parts, and without turns another handler's line could land in the middle."""


class BatchedLineHandler(logging.Handler):
    """Formats each record into one line and writes the lines to ``stream`` in batches."""

    def __init__(
        self,
        stream: TextIO,
        *,
        flush_seconds: float = FLUSH_SECONDS,
        max_lines: int = MAX_LINES,
        max_pending: int = MAX_PENDING,
        verbatim: bool = False,
        name: str = ACCESS_LOGGER,
    ) -> None:
        super().__init__()
        self.stream = stream
        self.logger_name = name
        self.verbatim = verbatim
        self.flush_seconds = flush_seconds
        self.max_lines = max_lines
        self.max_pending = max(max_pending, max_lines)
        self.dropped = 0
        """Lines dropped so far because the stream took none for too long."""
        self._unreported = 0
        self._pending: list[str] = []
        self._pending_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._writing = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name} log", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.add_line(line)

    def add_line(self, line: str) -> None:
        """Queue one finished line (no record, no formatter, no filter). Never writes, never
        waits for the stream: a full batch only wakes the writing thread."""
        with self._pending_lock:
            if len(self._pending) >= self.max_pending:
                self.dropped += 1
                self._unreported += 1
                return
            self._pending.append(line)
            full = len(self._pending) >= self.max_lines
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Have every waiting line written, waiting at most ``FLUSH_WAIT_SECONDS`` (``logging``
        calls this at exit, when nobody may be reading any more)."""
        self.drain(FLUSH_WAIT_SECONDS)

    def _write_pending(self, turn_seconds: float = -1) -> None:
        """Write every waiting line now, on the calling thread. ``turn_seconds`` bounds the wait
        for the stream's turn (``STREAM_LOCK``; no bound by default, for the handler's own
        thread): another handler stuck on a stream nobody reads must not hold up a caller that
        is stopping the server. Lines that get no turn stay waiting."""
        with self._write_lock:
            if not STREAM_LOCK.acquire(timeout=turn_seconds):
                return
            try:
                with self._pending_lock:
                    lines, self._pending = self._pending, []
                    dropped, self._unreported = self._unreported, 0
                    self._writing = bool(lines or dropped)
                if dropped:
                    lines.insert(0, _dropped_line(dropped, self.logger_name))
                for chunk in _chunks(lines):
                    self.stream.write(chunk)
                    self.stream.flush()
            except (OSError, ValueError):
                pass  # standard error is gone or closed: the server carries on without logs
            finally:
                self._writing = False
                STREAM_LOCK.release()

    def drain(self, timeout: float) -> bool:
        """Have the writing thread write what is waiting; wait for it at most ``timeout``
        seconds (a stream nobody reads must not hold up a stopping server). Whether it did."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while time.monotonic() < deadline:
            with self._pending_lock:
                if not self._pending and not self._unreported and not self._writing:
                    return True
            if not self._thread.is_alive():
                self._write_pending(max(deadline - time.monotonic(), 0))
                return not self._pending
            self._wake.set()
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self._write_pending()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(self.flush_seconds * 5 + 1)
        if not self._thread.is_alive():  # else the stream is stuck: do not wait for it here
            self._write_pending(FLUSH_WAIT_SECONDS)
        super().close()


ATOMIC_BYTES = 4096
"""What a pipe takes in one piece (POSIX's PIPE_BUF on Linux): a write no longer than this is
never mixed with another process's, and the workers of ``serve --workers`` share one standard
error."""


def _chunks(lines: list[str]) -> Iterator[str]:
    """``lines`` as texts of whole lines, each at most ``ATOMIC_BYTES`` long when encoded
    unless a single line is longer (it then goes alone)."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode("utf-8", "backslashreplace")) + 1
        if chunk and size + length > ATOMIC_BYTES:
            yield "\n".join(chunk) + "\n"
            chunk, size = [], 0
        chunk.append(line)
        size += length
    if chunk:
        yield "\n".join(chunk) + "\n"


def _dropped_line(count: int, logger: str) -> str:
    """The warning that takes the place of ``count`` dropped lines of ``logger``."""
    return orjson.dumps(
        {
            "time": timestamp(time.time()),
            "level": "warning",
            "logger": logger,
            "message": f"{count} log lines were dropped: standard error was not being read",
            "dropped": count,
        }
    ).decode()


def line_sink(logger: logging.Logger) -> Callable[[str], None] | None:
    """``add_line`` of the logger's only handler when writing a line there directly is exactly
    what logging it at INFO would do; otherwise ``None`` (log it the usual way)."""
    handlers = logger.handlers
    if len(handlers) != 1 or logger.propagate or logger.filters:
        return None
    handler = handlers[0]
    if (
        type(handler) is not BatchedLineHandler
        or not handler.verbatim
        or handler.filters
        or handler.level > logging.INFO
        or not logger.isEnabledFor(logging.INFO)
    ):
        return None
    return handler.add_line


def log_line(logger: logging.Logger, line: str) -> None:
    """Write one finished access line: straight to the batched handler when that is all logging
    would do, through ``logging`` otherwise."""
    sink = line_sink(logger)
    if sink is not None:
        sink(line)
    elif logger.isEnabledFor(logging.INFO):
        logger.info(line)


MAX_LOGGED_PATH = 256
"""Longest path an access-log line carries; a client's 100 kB path is cut, not copied."""


def _clipped_path(path: object) -> object:
    return clip(path, MAX_LOGGED_PATH) if isinstance(path, str) else path


def access_line(scope: Mapping[str, Any], outcome: Mapping[str, int], started: float) -> str:
    client = scope.get("client")
    record: dict[str, Any] = {
        "time": timestamp(time.time()),
        "method": scope.get("method"),
        "path": _clipped_path(scope.get("path")),
        "status": outcome["status"],
        "bytes": outcome["bytes"],
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "client": f"{client[0]}:{client[1]}" if client else None,
    }
    try:
        return orjson.dumps(record).decode()
    except orjson.JSONEncodeError:  # a path orjson will not encode (a lone surrogate)
        return json.dumps(record)


_second: list[Any] = [None, ""]
"""The last whole second formatted by ``timestamp`` and its text (one line per request asks
for the same second many times)."""


def timestamp(now: float) -> str:
    """``now`` as ISO 8601 in UTC with milliseconds, like ``datetime.isoformat``."""
    second = int(now)
    if _second[0] != second:
        _second[:] = [second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{int((now - second) * 1000):03d}+00:00"

"""The access log's batched handler and line format."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rooms_kit.reference_server.access_log import ATOMIC_BYTES, BatchedLineHandler
from rooms_kit.reference_server.access_log import access_line as _access_line
from rooms_kit.reference_server.access_log import timestamp as _timestamp


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("rooms_kit.access", logging.INFO, __file__, 1, message, None, None)


HANG_SECONDS = 30
"""Only a guard against a hang, never a measurement."""


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "not within the hang guard"
        time.sleep(0.005)


def test_lines_wait_for_a_batch_and_close_writes_the_rest() -> None:
    stream = io.StringIO()
    handler = BatchedLineHandler(stream, flush_seconds=60, max_lines=3)
    try:
        handler.handle(record("one"))
        handler.handle(record("two"))
        time.sleep(0.05)
        assert stream.getvalue() == ""  # not yet: fewer than max_lines and no tick
        handler.handle(record("three"))  # a full batch wakes the writing thread at once
        wait_until(lambda: stream.getvalue() == "one\ntwo\nthree\n")
        handler.handle(record("four"))
    finally:
        handler.close()
    assert stream.getvalue() == "one\ntwo\nthree\nfour\n"


class StuckStream(io.StringIO):
    """A stream whose writes wait until ``release`` is set, like a pipe nobody reads."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.writing = threading.Event()

    def write(self, text: str) -> int:
        self.writing.set()
        self.release.wait(HANG_SECONDS)
        return super().write(text)


def test_a_stream_nobody_reads_never_holds_up_a_caller_and_every_line_is_accounted_for() -> None:
    stream = StuckStream()
    handler = BatchedLineHandler(stream, flush_seconds=60, max_lines=2, max_pending=10)
    try:
        handler.add_line("first")
        handler.add_line("second")  # a full batch: the writing thread takes it and gets stuck
        assert stream.writing.wait(HANG_SECONDS)
        adding = threading.Thread(target=lambda: [handler.add_line(f"n{n}") for n in range(100)])
        adding.start()
        adding.join(HANG_SECONDS)
        assert not adding.is_alive()  # add_line never waited for the stream
        assert handler.dropped == 90  # 10 held, the rest dropped and counted
        assert handler.drain(0.1) is False  # bounded, and it says the stream is still stuck
        stream.release.set()
        assert handler.drain(HANG_SECONDS) is True
    finally:
        stream.release.set()
        handler.close()
    lines = stream.getvalue().splitlines()
    warning = json.loads(lines[2])
    assert lines[:2] == ["first", "second"]
    assert (warning["level"], warning["dropped"]) == ("warning", 90)
    assert warning["message"] == "90 log lines were dropped: standard error was not being read"
    assert warning["logger"] == "rooms_kit.access"
    assert lines[3:] == [f"n{n}" for n in range(10)]


def test_the_background_thread_writes_within_the_interval() -> None:
    stream = io.StringIO()
    handler = BatchedLineHandler(stream, flush_seconds=0.01)
    try:
        handler.handle(record("alone"))
        deadline = time.monotonic() + 30  # only a guard against a hang
        while stream.getvalue() != "alone\n":
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        handler.close()


def run_together(target: Callable[..., None], arguments: list[tuple[Any, ...]]) -> None:
    """``target`` with each of ``arguments`` in a thread of its own, all at once; returns when
    all have ended."""
    threads = [threading.Thread(target=target, args=args) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_lines_from_many_threads_stay_whole_and_none_is_lost() -> None:
    stream = io.StringIO()
    handler = BatchedLineHandler(stream, flush_seconds=0.001, max_lines=7)
    try:

        def write(number: int) -> None:
            for n in range(200):
                handler.handle(record(json.dumps({"thread": number, "n": n})))

        run_together(write, [(t,) for t in range(8)])
    finally:
        handler.close()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted((r["thread"], r["n"]) for r in lines) == [
        (t, n) for t in range(8) for n in range(200)
    ]


class PipeLikeStream(io.StringIO):
    """Takes each write in parts, letting other threads run in between, as a pipe that is read
    slowly does with a write larger than it holds."""

    def write(self, text: str) -> int:
        for start in range(0, len(text), 64):
            super().write(text[start : start + 64])
            time.sleep(0.0001)
        return len(text)


def test_two_handlers_on_one_stream_never_cut_each_others_lines() -> None:
    """The access lines and the events go to the same standard error from two handlers, each
    writing from its own thread (the lines of one went missing in the middle of the other's
    when a log reader resumed after a pause)."""
    stream = PipeLikeStream()
    access = BatchedLineHandler(stream, flush_seconds=0.001, max_lines=50)
    events = BatchedLineHandler(stream, flush_seconds=0.001, max_lines=1, name="events")
    try:

        def write(handler: BatchedLineHandler, kind: str) -> None:
            for n in range(300):
                handler.handle(record(json.dumps({"kind": kind, "n": n, "pad": "x" * 100})))

        run_together(write, [(access, "access"), (events, "event")])
    finally:
        access.close()
        events.close()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted((r["kind"], r["n"]) for r in lines) == sorted(
        (kind, n) for kind in ("access", "event") for n in range(300)
    )


WRITER = """
import json, sys
from rooms_kit.reference_server.access_log import BatchedLineHandler
handler = BatchedLineHandler(sys.stderr, verbatim=True)
for n in range(3000):
    handler.add_line(json.dumps({"writer": sys.argv[1], "n": n, "pad": "x" * 150}))
handler.close()
"""


def test_processes_sharing_a_slowly_read_pipe_never_mix_their_lines() -> None:
    """The workers of ``serve --workers`` share one standard error: two writers' batches on a
    pipe read in small, slow pieces (a pipe takes a large write in parts) keep every line whole."""
    read_end, write_end = os.pipe()
    try:
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, name],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=write_end,
            )
            for name in ("a", "b")
        ]
    finally:
        os.close(write_end)
    received = bytearray()
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(1000):
            received += chunk
            time.sleep(0.0005)
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    lines = [json.loads(line) for line in received.decode().splitlines()]
    assert sorted((r["writer"], r["n"]) for r in lines) == sorted(
        (name, n) for name in ("a", "b") for n in range(3000)
    )


def test_a_batch_goes_out_in_writes_a_pipe_takes_whole() -> None:
    stream = io.StringIO()
    writes: list[str] = []
    stream.write = lambda text: writes.append(text) or len(text)  # type: ignore[method-assign]
    handler = BatchedLineHandler(stream, max_lines=10_000, flush_seconds=60)
    long_line = "y" * 5000
    for n in range(500):
        handler.add_line(json.dumps({"n": n, "pad": "x" * 100}))
    handler.add_line(long_line)
    handler.close()
    assert "".join(writes).splitlines()[-1] == long_line
    assert len("".join(writes).splitlines()) == 501
    assert all(text.endswith("\n") for text in writes)
    assert [len(text.encode()) > ATOMIC_BYTES for text in writes].count(True) == 1  # the long one
    assert len(writes) > 1


def test_a_closed_stream_does_not_break_the_server() -> None:
    stream = io.StringIO()
    handler = BatchedLineHandler(stream, flush_seconds=60)
    stream.close()
    handler.handle(record("lost"))
    handler.close()  # no exception


def test_access_lines_are_json_even_for_unencodable_paths() -> None:
    scope = {"method": "GET", "path": "/games/v1/rooms/\udcff\u00e9", "client": ("127.0.0.1", 1)}
    line = json.loads(_access_line(scope, {"status": 404, "bytes": 3}, time.perf_counter()))
    assert line["path"] == scope["path"]
    assert line["status"] == 404
    plain = json.loads(
        _access_line({"method": "GET", "path": "/é"}, {"status": 200, "bytes": 1}, 0)
    )
    assert plain["path"] == "/é"
    assert plain["client"] is None


def test_timestamps_match_isoformat_to_the_millisecond() -> None:
    for now in (0.0, 1_700_000_000.0009, 1_700_000_000.9999, time.time()):
        expected = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        assert _timestamp(now) == expected


def test_a_verbatim_handler_takes_finished_lines_unless_logging_would_do_more() -> None:
    from rooms_kit.reference_server.access_log import line_sink  # noqa: PLC0415

    logger = logging.getLogger("rooms_kit.access.test_sink")
    stream = io.StringIO()
    handler = BatchedLineHandler(stream, flush_seconds=60, verbatim=True)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        sink = line_sink(logger)
        assert sink is not None
        sink('{"path": "/a"}')
        handler.flush()
        assert stream.getvalue() == '{"path": "/a"}\n'
        # each of these makes logging do something add_line would skip
        handler.addFilter(lambda r: False)
        assert line_sink(logger) is None
        handler.filters.clear()
        logger.propagate = True
        assert line_sink(logger) is None
        logger.propagate = False
        logger.setLevel(logging.WARNING)
        assert line_sink(logger) is None
        logger.setLevel(logging.INFO)
        handler.verbatim = False  # its formatter may change the line
        assert line_sink(logger) is None
        handler.verbatim = True
        logger.handlers.append(logging.NullHandler())
        assert line_sink(logger) is None
    finally:
        logger.handlers.clear()
        handler.close()

"""Warnings and errors are rate-limited per kind, and what is dropped is counted."""

from __future__ import annotations

import asyncio
import errno
import logging

import pytest

from rooms_kit.reference_server.limits import quiet_accept_errors
from rooms_kit.reference_server.log_limit import RateLimitFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(
    message: str, level: int = logging.WARNING, name: str = "uvicorn.error"
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_a_flood_of_one_kind_is_cut_to_the_burst_and_counted() -> None:
    clock = Clock()
    limit = RateLimitFilter(burst=3, window=10.0, clock=clock)
    passed = [
        r
        for r in (record("Invalid HTTP request received.") for _ in range(1000))
        if limit.filter(r)
    ]
    assert len(passed) == 3
    assert "rate_limited" in passed[-1].fields  # type: ignore[attr-defined]
    assert limit.dropped_total == 997
    clock.now = 10.0
    later = record("Invalid HTTP request received.")
    assert limit.filter(later)
    assert later.fields == {"suppressed": 997}  # type: ignore[attr-defined]


def test_kinds_are_limited_separately_and_info_passes() -> None:
    limit = RateLimitFilter(burst=1, window=10.0, clock=Clock())
    assert limit.filter(record("one %s"))
    assert not limit.filter(record("one %s"))
    assert limit.filter(record("two"))
    assert limit.filter(record("one %s", name="asyncio"))
    assert all(limit.filter(record("access", level=logging.INFO)) for _ in range(100))
    assert limit.dropped_total == 1


def test_the_table_of_kinds_stays_bounded() -> None:
    limit = RateLimitFilter(burst=1, window=10.0, clock=Clock())
    for index in range(5000):
        assert limit.filter(record(f"message {index}"))
    assert len(limit._kinds) <= 1024


def test_running_out_of_descriptors_while_accepting_is_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.new_event_loop()
    try:
        error = OSError(errno.EMFILE, "Too many open files")
        with caplog.at_level(logging.WARNING):
            quiet_accept_errors(loop, {"message": "socket.accept() out of system resource",
                                       "exception": error})  # fmt: skip
    finally:
        loop.close()
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("WARNING", "cannot accept connections for a moment: Too many open files", None)
    ]

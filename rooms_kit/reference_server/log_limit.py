"""Warnings and errors that cannot flood the disk: each kind of record is rate-limited and counted.

A client can make a server log on purpose (malformed requests, connections beyond the limits, a
descriptor shortage while accepting). ``RateLimitFilter`` lets through at most ``burst`` records
of one kind (logger and message template) per ``window`` seconds and drops the rest, counting
them. The last record let through before dropping starts says so (``rate_limited``); the next
one let through carries ``suppressed``, how many were dropped since; ``dropped_total`` counts them
all (``rooms-kit serve`` reports it when it stops). Records below WARNING (the access log, the
start-up events) pass untouched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

MAX_KINDS = 1024
"""Kinds tracked at once; when more appear, the table starts over (so it stays bounded too)."""


class RateLimitFilter(logging.Filter):
    """Drops records of one kind beyond ``burst`` per ``window`` seconds, and counts them."""

    def __init__(
        self,
        burst: int = 10,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        # kind -> [window start, records let through in it, records dropped since last shown]
        self._kinds: dict[tuple[str, str], list[float]] = {}
        self.dropped_total = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, str(record.msg))
        now = self._clock()
        with self._lock:
            if kind not in self._kinds and len(self._kinds) >= MAX_KINDS:
                self._kinds.clear()
            entry = self._kinds.setdefault(kind, [now, 0, 0])
            if now - entry[0] >= self.window:
                entry[0], entry[1] = now, 0
            if entry[1] >= self.burst:
                entry[2] += 1
                self.dropped_total += 1
                return False
            entry[1] += 1
            last = entry[1] == self.burst
            dropped, entry[2] = int(entry[2]), 0
        if dropped or last:
            fields = dict(getattr(record, "fields", {}))
            if dropped:
                fields["suppressed"] = dropped
            if last:
                fields["rate_limited"] = (
                    f"more records like this one within {self.window:g} s are dropped and counted"
                )
            record.fields = fields
        return True

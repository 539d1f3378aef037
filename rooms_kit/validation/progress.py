"""A progress line on standard error, for people watching a long run in a terminal."""

from __future__ import annotations

import time
from typing import TextIO

BAR_WIDTH = 30
MIN_BYTES = 8 * 1024 * 1024  # smaller inputs finish before a bar would help


class Progress:
    """Redraws at most ten times a second; writes nothing when disabled."""

    def __init__(self, out: TextIO, *, enabled: bool, total_bytes: int | None) -> None:
        self.out = out
        self.enabled = enabled
        self.total = total_bytes
        self.done_bytes = 0
        self.documents = 0
        self._started = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def advance(self, documents: int, size: int) -> None:
        if not self.enabled:
            return
        self.documents += documents
        self.done_bytes += size
        now = time.monotonic()
        if now - self._last >= 0.1:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.documents / max(now - self._started, 1e-9)
        if self.total:
            share = min(self.done_bytes / self.total, 1.0)
            filled = int(share * BAR_WIDTH)
            bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} "
        else:
            bar = ""
        self.out.write(f"\r{bar}{self.documents:,} documents, {rate:,.0f}/s")
        self.out.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.out.write("\r\033[K")
            self.out.flush()

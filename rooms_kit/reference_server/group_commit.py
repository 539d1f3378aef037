"""Group commit for a SQLite file: one writer thread, one fsync for every write waiting.

SQLite lets one writer in at a time and ``synchronous=FULL`` makes every commit wait for the
disk, so under many concurrent writes the fsync of each commit decides the rate. ``GroupCommitter``
runs all writes on its own thread: it takes every call that is waiting (up to ``max_batch``),
runs them one after another inside a single transaction, each in its own savepoint
(``SqliteStore.run_batch``), commits once, and only then answers each caller. Every acknowledged
write is on disk, as before; a write that fails is undone alone. One thread also spares the
hand-over to anyio's thread pool, whose wake-ups cost the event loop more than the calls.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from rooms_kit.reference_server.hand_over import Job, Settled, answer, submit
from rooms_kit.reference_server.sqlite_store import StoreError

T = TypeVar("T")
DEFAULT_MAX_BATCH = 64
"""Most writes sharing one commit: bounds how long the first of them waits for the last."""


class BatchStore(Protocol):
    def run_batch(self, calls: list[Callable[[], object]]) -> list[tuple[bool, object]]: ...


class GroupCommitter:
    """Runs blocking store writes on one thread, many to a commit; see the module docstring."""

    def __init__(self, store: BatchStore, *, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self.batches = 0
        self.largest_batch = 0
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="rooms-kit-writer", daemon=True)
        self._thread.start()

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in the next batch; its result once that is committed."""
        if self._closed:
            raise StoreError("the writer is stopped")
        return await submit(self._queue, function, *args, **kwargs)

    def close(self) -> None:
        """Finish the writes already queued, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            while len(jobs) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                jobs.append(more)
            self._commit(jobs)

    def _commit(self, jobs: list[Job]) -> None:
        try:
            outcomes = self.store.run_batch([call for call, _, _ in jobs])
        except BaseException as exc:  # the commit failed: nothing of this batch is kept
            outcomes = [(False, exc)] * len(jobs)
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(jobs))
        by_loop: dict[asyncio.AbstractEventLoop, Settled] = {}
        for (_, loop, future), (ok, value) in zip(jobs, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, settled in by_loop.items():
            answer(loop, settled)

"""A fixed set of threads for blocking store calls, handed work through one queue.

PostgreSQL (and a shared ``:memory:`` database) cannot answer on the event loop, so every call
there runs in a thread. anyio's ``to_thread.run_sync`` (behind Starlette's ``run_in_threadpool``)
costs the event loop about 45 µs of CPU per call at 8 concurrent requests on this machine, for
its capacity limiter, cancellation scopes and per-call wake-ups; this hand-over costs about 8 µs:
the caller puts the call on a ``SimpleQueue``, a waiting thread runs it and settles the
caller's future with ``call_soon_threadsafe``. The queueing (``submit``) and the settling
(``answer``) are shared with the SQLite group commit, which settles a whole batch in one callback.

The threads are as many as the store has connections: more would only queue inside its pool.
A caller that is cancelled while its call runs does not stop it (a store call is one
transaction: it commits or rolls back as a whole), it only loses the answer.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")

Job = tuple[Callable[[], object], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class HandOver(Protocol):
    """Where the adapter runs a blocking store call: ``ThreadHandOver``, or
    ``on_loop.LoopRunner`` for PostgreSQL."""

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...

    def close(self) -> None: ...


class HandOverClosed(RuntimeError):
    """A call was handed over after ``close``."""


Settled = list[tuple["asyncio.Future[Any]", bool, object]]
"""Futures with their outcomes: (future, True, result) or (future, False, exception)."""


async def submit(
    jobs: queue.SimpleQueue[Any], function: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """Put ``function(*args, **kwargs)`` on ``jobs`` for a thread, and wait for its outcome."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    jobs.put((functools.partial(function, *args, **kwargs), loop, future))
    return await future


def _settle(settled: Settled) -> None:
    for future, ok, value in settled:
        if future.done():  # the caller was cancelled meanwhile; what ran stands nonetheless
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(cast(BaseException, value))


def answer(loop: asyncio.AbstractEventLoop, settled: Settled) -> None:
    """From a worker thread: settle ``settled`` on ``loop``, in one callback."""
    try:
        loop.call_soon_threadsafe(_settle, settled)
    except RuntimeError:  # that event loop is closed: nobody waits for these answers
        pass


class ThreadHandOver:
    """``await hand_over.call(function, *args)`` runs ``function`` in one of ``threads``."""

    def __init__(self, threads: int, *, name: str = "rooms-kit-store") -> None:
        if threads < 1:
            raise ValueError("a hand-over needs at least one thread")
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in a thread of this hand-over; its result or error."""
        if self._closed:
            raise HandOverClosed("the store's threads are stopped")
        return await submit(self._queue, function, *args, **kwargs)

    def close(self) -> None:
        """Let the calls already handed over finish, then stop the threads."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            call, loop, future = job
            try:
                outcome: tuple[bool, object] = (True, call())
            except BaseException as exc:  # handed to the caller, whatever it is
                outcome = (False, exc)
            answer(loop, [(future, *outcome)])

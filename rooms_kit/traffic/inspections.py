"""Judging beside the event loop: exchanges are inspected in the order they end, on a thread of
their own as soon as one of them is large.

The checks of a big answer (an 8 MiB list of rooms, say) take about a second of CPU, most of it
parsing and walking the body in Python. On the proxy's event loop that second held every other
client. ``Inspections`` gives such an exchange to one worker thread, and with it every exchange
that ends while anything is still waiting to be judged, so the rules that follow rooms over time
and the recording still see exchanges in the order they ended. An exchange that ends while
nothing waits, with bodies of at most ``INLINE_BYTES``, is judged at once on the loop: handing it
over would cost more than judging it.

The interpreter lock is still shared: the loop runs between the worker's slices (a few
milliseconds each), except while one long call into a C library (a JSON parser over the whole
body) or a full collection of the garbage collector holds the lock. At most ``QUEUED_BYTES`` of
bodies wait for the worker; an exchange that would go beyond waits on the loop until the worker
has caught up, which holds the loop no longer than judging it there would. In strict mode an
answer waits for its own verdict, which is handed back to the loop (``then``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TextIO

from rooms_kit.contract.failures import ContractFailure, clip
from rooms_kit.traffic.seen import Seen

INLINE_BYTES = 64 * 1024
"""Bodies (request and answer together) judged at once on the loop when nothing waits."""
ABANDON_SECONDS = 10.0
"""How long a second interrupt waits for the worker to finish the exchange it is judging."""
QUEUED_BYTES = 64 * 1024 * 1024
"""Bodies (and answers held for strict verdicts) that may wait for the worker at one time (a
single larger exchange still may)."""

Inspector = Callable[[Seen], list[ContractFailure]]
Verdict = Callable[[list[ContractFailure]], None]
_Waiting = tuple[Seen, Verdict | None, asyncio.AbstractEventLoop | None, int]


class _HeldBack:
    """A signal handler that notes the signals while ``holding``, and after that passes each on
    to the handler it replaced (so that one left in place by an interrupted restore is harmless)."""

    def __init__(self) -> None:
        self.holding = True
        self.came: list[int] = []
        self.replaced: dict[int, Callable[[int, FrameType | None], object]] = {}

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self.came.append(signum)
        else:
            self.replaced[signum](signum, frame)


@contextlib.contextmanager
def _interrupts_held_back() -> Iterator[None]:
    """Run the block whole: SIGINT and SIGTERM, when Python handlers take them (Ctrl-C, and
    SIGTERM during the stop's last judging), are noted meanwhile and delivered to those handlers
    once the block is left, so the interrupt they raise comes after its last line, not between
    two of them. Blocking the signals with ``signal.pthread_sigmask`` would not do: the kernel
    hands a process's signal to any thread that has it unblocked (the judging worker, say), and
    Python then runs the handler on the main thread all the same."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Python runs signal handlers on the main thread only: none can land here
        return
    held = _HeldBack()
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(sig)
            if callable(handler):  # a default or ignored signal raises nothing in Python
                held.replaced[sig] = handler
                signal.signal(sig, held)
        yield
    finally:
        held.holding = False  # from here on a signal goes straight to its own handler
        for signum, replaced in held.replaced.items():
            signal.signal(signum, replaced)
        for signum in dict.fromkeys(held.came):  # each once, in the order they came
            signal.raise_signal(signum)  # to the handler given back: the first raises


class Inspections:
    """``submit`` each exchange as it ends; ``close`` judges what waits and ends the worker."""

    def __init__(
        self,
        inspect: Inspector,
        *,
        err: TextIO | None = None,
        inline_bytes: int = INLINE_BYTES,
        queued_bytes: int = QUEUED_BYTES,
    ) -> None:
        self._inspect = inspect
        self._err = err
        self.inline_bytes = inline_bytes
        self.queued_bytes = queued_bytes
        self._changed = threading.Condition()
        self._queue: collections.deque[_Waiting] = collections.deque()
        self._waiting = 0  # submitted to the worker and not judged yet
        self._bytes = 0  # the bodies of those
        self._worker: threading.Thread | None = None
        self._closing = False
        self.dropped = 0
        """Exchanges left unjudged by ``abandon`` (they were still waiting)."""
        self.judged = 0
        """Exchanges whose inspection has ended (written, recorded, counted)."""
        self.defects = 0
        """Inspections that failed with an error of the kit's own (each said on ``err``)."""

    def submit(self, seen: Seen, then: Verdict | None = None, *, held: int = 0) -> None:
        """Judge ``seen`` after every exchange submitted before it; ``then`` gets its failures
        (on the calling loop when judged by the worker). ``held``: bytes kept for ``then``
        besides the bodies (the answer as it came, which strict mode sends once judged)."""
        size = len(seen.request_body) + len(seen.response_body) + held
        with self._changed:
            inline = self._waiting == 0 and (self._closing or size <= self.inline_bytes)
        if inline:
            failures = self._judge(seen)
            if then is not None:
                then(failures)
            return
        loop = asyncio.get_running_loop() if then is not None else None
        with self._changed:
            while self._waiting and self._bytes + size > self.queued_bytes:
                self._changed.wait()  # the worker is behind: wait here, as judging here would
            self._queue.append((seen, then, loop, size))
            self._waiting += 1
            self._bytes += size
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="rooms-kit-proxy-judge", daemon=True
                )
                self._worker.start()
            self._changed.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until nothing waits to be judged; False if ``timeout`` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._waiting == 0, timeout)

    def close(self) -> None:
        """Judge every exchange still waiting, then end the worker (from then on an exchange is
        judged at once by its caller)."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            self._changed.wait_for(self._ended)

    def abandon(self, timeout: float = ABANDON_SECONDS) -> bool:
        """Give up what still waits (when the stop is interrupted again): the worker finishes
        the exchange it is judging, and nothing after it. False if it was still judging after
        ``timeout`` seconds."""
        with self._changed:
            # The counts and the queue change together or not at all: an interrupt landing
            # between two of these lines (a third Ctrl-C, or SIGTERM, which the stop turns into
            # one) left exchanges counted as dropped that the worker then judged as well, or
            # counted as waiting for good. The wait below stays interruptible.
            with _interrupts_held_back():
                dropped, self._queue = self._queue, collections.deque()
                self._closing = True
                self.dropped += len(dropped)
                self._waiting -= len(dropped)
                self._bytes -= sum(size for *_, size in dropped)
                self._changed.notify_all()
            return self._changed.wait_for(self._ended, timeout)

    def _ended(self) -> bool:
        """Whether the worker has ended (it says so itself, under the lock). Not
        ``Thread.join``: on Python 3.11 a join cut short by Ctrl-C marks the thread as ended
        while it still runs, and every wait after it returned at once."""
        return self._worker is None

    def _work(self) -> None:
        try:
            self._work_through()
        finally:  # ``close`` and ``abandon`` wait for this, however the worker ends
            with self._changed:
                if self._worker is threading.current_thread():
                    self._worker = None
                    self._changed.notify_all()

    def _work_through(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closing:
                    self._changed.wait()
                if not self._queue:  # ended in the same hold of the lock as the last look
                    self._worker = None
                    self._changed.notify_all()
                    return
                seen, then, loop, size = self._queue.popleft()
            try:
                failures = self._judge(seen)
                if then is not None and loop is not None:
                    # A closed loop has dropped its clients: nobody is left to answer.
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(then, failures)
            finally:
                with self._changed:
                    self._waiting -= 1
                    self._bytes -= size
                    self._changed.notify_all()

    def _judge(self, seen: Seen) -> list[ContractFailure]:
        try:
            return self._inspect(seen)
        except Exception as exc:  # a defect of the kit: said, and the proxy goes on
            self.defects += 1
            print(
                f"rooms-kit proxy: exchange {seen.number} could not be judged, a defect of "
                f"rooms-kit (please report it): {type(exc).__name__}: {clip(str(exc), 200)}",
                file=self._err or sys.stderr,
                flush=True,
            )
            return []
        finally:
            self.judged += 1

"""``rooms-kit serve --workers N``: N server processes listening on one address.

The parent binds the sockets, starts the workers (fresh interpreters, ``spawn``), waits until each
has opened its database and serves, announces ``listening`` and then supervises:

- a worker that exits on its own (crash, SIGKILL, out of memory) is logged (``worker_exited``)
  and replaced; the others keep serving meanwhile. Workers that keep dying (more than
  ``RESTART_LIMIT`` exits within ``RESTART_WINDOW_SECONDS``, or more than ``RESTART_LIMIT``
  replacements in a row that could not even start, say because the database went away) stop
  the whole server, status 1;
- a worker whose event loop has not run for ``HANG_SECONDS`` (blocked, deadlocked, stopped), or
  a replacement not started within ``READY_SECONDS``, is logged (``worker_hung``), killed by its
  pid and replaced the same way;
- SIGTERM or SIGINT is passed on to every worker (by its own pid): each finishes its requests in
  flight and closes its database; the parent then logs ``stopped`` and returns normally.

Each worker slot listens on a socket of its own, all bound to the one address in a
``SO_REUSEPORT`` group (on Linux; elsewhere they share one socket): the kernel picks the slot of
each new connection by a hash of its addresses, so connections spread over the workers instead
of going to whichever process calls ``accept`` first. The parent keeps every slot's socket open,
so connections that arrive for a slot while its worker is being replaced wait in that socket's
queue for the replacement. Requests of one connection stay on its worker. The workers share nothing but the database, so every store
guarantee (one transaction per request, ``requestId`` idempotency, capacity) holds across them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import math
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, cast

from rooms_kit.errors import KitError

PR_SET_PDEATHSIG = 1
MAX_WORKERS = 64
READY_SECONDS = 120
"""How long a starting worker may take to open its database: at start-up the start is then
abandoned, and a replacement is killed (and counts as one that could not start)."""
POLL_SECONDS = 0.2
"""How often the parent looks for a stop request or a dead worker while it waits."""
HANG_SECONDS = 60.0
"""A serving worker whose event loop has not run for this long is taken as hung: it is killed
(SIGKILL) and replaced, since the connections the kernel gives its socket would wait forever."""
PAUSE_SECONDS = 5.0
"""A gap this long between two looks of the supervisor means it was paused itself."""
BEAT_SECONDS = 1.0
"""How often a serving worker's event loop records that it runs."""
RESTART_LIMIT = 5
RESTART_WINDOW_SECONDS = 30.0
STOP_GRACE_SECONDS = 40
"""A worker still running this long after SIGTERM (beyond uvicorn's own graceful shutdown
time) is killed."""
HURRY_SIGNAL: signal.Signals = getattr(signal, "SIGUSR1", signal.SIGINT)
"""What the parent sends its workers when a second SIGTERM or SIGINT asks it to stop waiting for
requests in flight. Neither of those two can say so: Ctrl-C in a terminal sends SIGINT to every
process of the group, workers included, and a process manager may send SIGTERM to all of them as
well as the parent (systemd does by default), so a worker ignores SIGINT and takes any number of
SIGTERMs as one."""


@dataclass
class WorkerSettings:
    """What each worker needs to build its own app and server (all picklable)."""

    app_options: dict[str, Any]
    server_options: dict[str, Any] = field(default_factory=dict)


class WorkerStartError(KitError):
    """A worker could not start (its database, tokens or settings were refused)."""


def _stop_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the supervisor dies (even by SIGKILL), so that no worker is
    left serving on its own; elsewhere this is skipped."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the supervisor was gone before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


@contextlib.contextmanager
def stop_signals_to(
    handler: Callable[[int, Any], object],
    handled: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
) -> Iterator[None]:
    """``handled`` (SIGTERM and SIGINT) go to ``handler`` inside the block; the handlers before
    it come back after it."""
    originals = {sig: signal.signal(sig, handler) for sig in handled}
    try:
        yield
    finally:
        for sig, original in originals.items():
            signal.signal(sig, original)


def _beat_on_loop(beats: Any, slot: int) -> None:
    """Record ``time.monotonic()`` (one clock for all processes on Linux) in ``beats[slot]``
    every ``BEAT_SECONDS`` from the running event loop, for the supervisor to read."""
    loop = asyncio.get_running_loop()

    def beat() -> None:
        beats[slot] = time.monotonic()
        loop.call_later(BEAT_SECONDS, beat)

    beat()


REPORT_DETAIL_BYTES = 2000
"""A worker's report stays far below ``PIPE_BUF`` (4096 bytes on Linux) once pickled."""


def _report(reports: Connection, message: tuple[str, int, int, Any]) -> None:
    """Send one report (``ready`` or ``failed``) to the parent in a single write of less than
    ``PIPE_BUF`` bytes, which the kernel keeps whole among the other workers' and which takes
    no lock. A ``multiprocessing.Queue`` took a lock shared by every process around each write:
    a worker stopped or killed while holding it (just after its ready message had reached the
    parent, as the supervisor kills a worker found hung) kept every later worker's report from
    arriving (replacements served but were never logged as started) and each later worker's
    exit waiting for the lock until it was killed."""
    kind, slot, pid, detail = message
    if isinstance(detail, str):  # an error message: cut (whole characters) to the bound
        # a path from the command line may hold bytes that are not UTF-8 (lone surrogates in
        # the text): written as escapes, not a UnicodeEncodeError in the worker
        shown = detail.encode("utf-8", "backslashreplace")
        detail = shown[:REPORT_DETAIL_BYTES].decode("utf-8", "ignore")
    reports.send((kind, slot, pid, detail))


def _worker_main(
    sock: socket.socket,
    settings: WorkerSettings,
    ready: Connection,
    slot: int,
    parent: int,
    beats: Any,
) -> None:  # pragma: no cover - runs in the child process; covered by the serve tests
    from rooms_kit.reference_server import serving  # noqa: PLC0415 - only in the child

    serving.configure_logging()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent passes SIGTERM on instead
    signal.signal(HURRY_SIGNAL, signal.SIG_IGN)  # handled while serving only
    _stop_with_parent(parent)
    try:
        app = serving.build_app(settings.app_options)
    except KitError as exc:
        _report(ready, ("failed", slot, os.getpid(), str(exc)))
        raise SystemExit(2) from None

    def serving_now() -> None:
        # Ready once the server accepts and handles SIGTERM, and from then on beating, so the
        # supervisor's two bounds (start, then hang) leave no gap between them.
        _beat_on_loop(beats, slot)
        _report(ready, ("ready", slot, os.getpid(), app.development_mode))

    try:
        serving.run_server(app, sock, settings.server_options, serving_now, in_worker=True)
    finally:
        # A SIGTERM after the drain (one a process manager sent every process, passed on by the
        # parent as well) must not cut short the close, which commits the writes still queued.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        app.close()


class Supervisor:
    """Starts, watches, replaces and stops the worker processes."""

    def __init__(
        self,
        sockets: list[socket.socket],
        settings: WorkerSettings,
        event: Callable[..., None],
    ) -> None:
        """One worker per socket in ``sockets`` (the same socket may be given for every slot)."""
        self._context = multiprocessing.get_context("spawn")
        self._sockets = sockets
        self._count = len(sockets)
        self._settings = settings
        self._event = event
        self._reports, self._report_writer = self._context.Pipe(duplex=False)
        self._beats: Any = self._context.RawArray("d", self._count)
        self._launched = [math.inf] * self._count
        self._watching_since = self._last_watch = time.monotonic()
        self._workers: dict[int, BaseProcess] = {}
        self._exits: list[float] = []
        self._stopping = False
        self._hurry = False
        self._stopped = False
        self._ready_pids: set[int] = set()
        self._failed_starts = 0

    def _start(self, slot: int) -> None:
        process = self._context.Process(
            target=_worker_main,
            args=(
                self._sockets[slot],
                self._settings,
                self._report_writer,
                slot,
                os.getpid(),
                self._beats,
            ),
            name=f"rooms-kit-worker-{slot}",
            # Stopped (SIGTERM), not waited for, should the parent ever exit without stop().
            daemon=True,
        )
        self._beats[slot] = 0.0  # not serving yet: bounded by READY_SECONDS instead
        self._launched[slot] = time.monotonic()
        process.start()
        self._workers[slot] = process

    def start(self) -> bool | None:
        """Start every worker and wait for all of them; returns whether they run in
        development mode, or None when SIGTERM or SIGINT came first (the workers are stopped
        then). A worker that cannot start, or exits while starting, stops the others and
        raises; call this inside ``signals_handled``."""
        for slot in range(self._count):
            if self._stopping:
                break
            self._start(slot)
        development = False
        waiting = set(range(self._count))
        deadline = time.monotonic() + READY_SECONDS
        while waiting:
            if self._stopping:
                self.stop()
                return None
            message = self._take(POLL_SECONDS)
            if message is None:
                dead = [s for s in waiting if not self._workers[s].is_alive()]
                # what a worker put just before exiting may arrive after its exit is seen
                message = self._take(POLL_SECONDS) if dead else None
                if message is None and (dead or time.monotonic() >= deadline):
                    self.stop()
                    raise WorkerStartError(self._start_failure(dead))
                if message is None:
                    continue
            kind, slot, pid, detail = message
            if kind == "failed":
                self.stop()
                raise WorkerStartError(str(detail))
            waiting.discard(slot)
            self._ready_pids.add(pid)
            development = development or bool(detail)
            self._event("worker started", event="worker_started", worker=slot, pid=pid)
        return development

    def _start_failure(self, dead: list[int]) -> str:
        if not dead:
            return f"a worker did not start within {READY_SECONDS} s; see its log above"
        process = self._workers[dead[0]]
        return (
            f"worker {dead[0]} (pid {process.pid}) exited with status {process.exitcode} "
            "while starting; see its log above"
        )

    def _take(self, timeout: float) -> tuple[str, int, int, Any] | None:
        """The next report of a worker, waiting at most ``timeout`` s; None if none came."""
        if self._reports.closed or not self._reports.poll(timeout):
            return None
        return cast(tuple[str, int, int, Any], self._reports.recv())

    def signals_handled(self) -> contextlib.AbstractContextManager[None]:
        """SIGTERM and SIGINT ask for a stop (``start`` and ``supervise`` act on it) instead of
        killing the parent: before, one of them during start-up left the workers serving (the
        parent, interrupted, then waited for them forever at exit)."""
        return stop_signals_to(self.request_stop)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._workers.values() if p.pid is not None]

    def request_stop(self, *_: object) -> None:
        if self._stopping:  # a second SIGTERM or SIGINT: ``stop`` hurries the workers
            self._hurry = True
        self._stopping = True

    def supervise(self) -> int:
        """Replace workers that exit until asked to stop; the exit status of ``serve``. Call
        this inside ``signals_handled``."""
        try:
            while not self._stopping:
                self._log_ready()
                self._kill_hung()
                sentinels = {p.sentinel: slot for slot, p in self._workers.items()}
                for sentinel in wait(list(sentinels), timeout=POLL_SECONDS):
                    if self._stopping:
                        break
                    slot = sentinels[cast(int, sentinel)]
                    if not self._replace(slot):
                        return 1
        finally:
            self.stop()
        return 0

    def _kill_hung(self) -> None:
        """SIGKILL, by its own pid, a serving worker whose event loop stopped running (blocked,
        stopped, deadlocked), or a replacement not started within ``READY_SECONDS``; its exit
        is then handled like any other: logged and replaced."""
        now = time.monotonic()
        if now - self._last_watch > PAUSE_SECONDS:
            # The supervisor itself did not run (the whole group stopped, say by Ctrl-Z): the
            # workers' silence meanwhile proves nothing, so their time counts from now.
            self._watching_since = now
        self._last_watch = now
        for slot, process in self._workers.items():
            beat = self._beats[slot]
            if beat:
                silent = now - max(beat, self._watching_since)
                if silent < HANG_SECONDS:
                    continue
                what = f"has not run its event loop for {silent:.0f} s"
            else:  # a replacement still starting
                starting = now - max(self._launched[slot], self._watching_since)
                if starting < READY_SECONDS:
                    continue
                what = f"has not started within {starting:.0f} s"
            self._beats[slot] = 0.0
            self._launched[slot] = math.inf  # killed once: its exit comes next
            self._event(
                f"worker {slot} (pid {process.pid}) {what}; killing it",
                logging.ERROR,
                event="worker_hung",
                worker=slot,
                pid=process.pid,
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(cast(int, process.pid), signal.SIGKILL)

    def _log_ready(self) -> None:
        while True:
            message = self._take(0)
            if message is None:
                return
            kind, slot, pid, detail = message
            if kind == "ready":
                self._ready_pids.add(pid)
                self._failed_starts = 0
                self._event("worker started", event="worker_started", worker=slot, pid=pid)
            else:
                self._event(
                    f"worker could not start: {detail}",
                    logging.ERROR,
                    event="worker_failed",
                    worker=slot,
                    pid=pid,
                )

    def _replace(self, slot: int) -> bool:
        process = self._workers[slot]
        process.join()
        self._log_ready()  # a ready message may still be queued behind the exit
        if process.pid not in self._ready_pids:
            self._failed_starts += 1
        now = time.monotonic()
        self._exits = [t for t in self._exits if now - t < RESTART_WINDOW_SECONDS] + [now]
        self._event(
            f"worker {slot} (pid {process.pid}) exited with status {process.exitcode}",
            logging.ERROR,
            event="worker_exited",
            worker=slot,
            pid=process.pid,
            exitcode=process.exitcode,
        )
        if len(self._exits) > RESTART_LIMIT or self._failed_starts > RESTART_LIMIT:
            self._event(
                f"workers exited {len(self._exits)} times within {RESTART_WINDOW_SECONDS:.0f} s,"
                f" {self._failed_starts} replacements in a row failed to start; stopping",
                logging.ERROR,
                event="workers_failing",
            )
            return False
        self._start(slot)
        return True

    def stop(self) -> None:
        """SIGTERM to every live worker, by its own pid; close the listening sockets; wait;
        SIGKILL what is left. A second SIGTERM or SIGINT to the parent (before or during the
        wait) sends each worker ``HURRY_SIGNAL`` as well, which stops its wait for the requests
        in flight (``serving.GracefulServer.handle_exit``)."""
        if self._stopped:
            return
        self._stopped = True
        self._signal_live(signal.SIGTERM)
        # Each worker closes its copy as it starts draining; the parent's copies must go too, or
        # the kernel keeps completing new connections into queues nobody accepts from any more
        # (they hung until the last worker exited, then were reset). Closed, the port refuses
        # them at once, as a single server does.
        for sock in self._sockets:
            sock.close()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        hurried = False
        for process in self._workers.values():
            while process.is_alive() and time.monotonic() < deadline:
                if self._hurry and not hurried:
                    hurried = True
                    self._signal_live(HURRY_SIGNAL)
                process.join(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGKILL)
                process.join()
        self._reports.close()
        self._report_writer.close()

    def _signal_live(self, sig: signal.Signals) -> None:
        for process in self._workers.values():
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, sig)

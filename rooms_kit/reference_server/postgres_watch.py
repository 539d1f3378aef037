"""A time bound for PostgreSQL statements sent from an ordinary thread.

Served requests run on the event loop, where ``postgres_loop.answered`` bounds every statement.
The rest blocks in psycopg until PostgreSQL answers: ``rooms-kit tokens add``, a server's
start-up checks (the layout version, the authentication mode, the tokens) and any direct use of
``PostgresStore`` from a thread. A server that stops answering without closing its socket would
hold those for good. ``StatementWatch`` arms a timer for each statement; when it fires, the
connection's socket is shut down in both directions, which wakes psycopg at once with a lost
connection. The pool never hands out a connection in that state again, and PostgreSQL rolls
back whatever the connection held once it notices the socket is gone, except when the bound
passed while waiting for the answer to COMMIT: that COMMIT may already sit in the server's
queue, and a server that was only slow applies it, so the error then says the write may or may
not have been applied. Whatever psycopg raises on this side becomes a ``StoreError`` that names
the database (without its password), so the CLI prints one line instead of a traceback.

``rooms-kit db upgrade`` uses the same watch with longer bounds for its migration steps, which
may rightly take long on a large database (``postgres_schema.upgrade``).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg

from rooms_kit.reference_server.postgres_loop import CANCEL_SECONDS, STATEMENT_SECONDS
from rooms_kit.reference_server.sqlite_store import StoreError

T = TypeVar("T")

THREAD_STATEMENT_SECONDS = STATEMENT_SECONDS + CANCEL_SECONDS
"""How long a statement sent from a thread may wait for PostgreSQL: the longest a statement on
the event loop can wait, its cancellation included (40 s)."""


class ThreadStatementTimeout(StoreError):
    """PostgreSQL did not answer a statement sent from a thread within the bound."""


_LOG = logging.getLogger(__name__)


class _Alarm:
    """One armed bound: ``fire`` is called once it is due, unless it was disarmed first."""

    __slots__ = ("fire", "off")

    def __init__(self, fire: Callable[[], None]) -> None:
        self.fire = fire
        self.off = False


class _Watchdog:
    """One daemon thread that fires every due alarm, earliest first.

    A thread per statement (``threading.Timer``) cost more than the statement itself on a
    local database (0.39 ms of CPU for a ``get`` through the service, against 0.12 ms without
    the bound); arming and disarming an alarm here is a push onto a heap and a flag. Disarmed
    alarms leave the heap when they come to its top, or all at once when they are most of it."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Alarm]] = []
        self._order = itertools.count()
        self._off = 0  # disarmed alarms still in the heap
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, fire: Callable[[], None]) -> _Alarm:
        alarm = _Alarm(fire)
        entry = (time.monotonic() + seconds, next(self._order), alarm)
        with self._changed:
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="rooms-kit-statement-watch", daemon=True
                )
                self._thread.start()
            elif self._heap[0] is entry:
                self._changed.notify()  # sooner than the alarm the thread sleeps for
        return alarm

    def disarm(self, alarm: _Alarm) -> None:
        with self._changed:
            if alarm.off:
                return
            alarm.off = True
            self._off += 1
            if self._off > 64 and self._off * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].off]
                heapq.heapify(self._heap)
                self._off = 0

    def _run(self) -> None:
        while True:
            with self._changed:
                due = self._next_due()
            try:
                due.fire()  # outside the lock: it takes the watch's own lock
            except Exception:  # the thread must live on: other alarms are waiting on it
                _LOG.exception("a statement bound failed as it fired")

    def _next_due(self) -> _Alarm:
        """Wait (holding the condition) until an alarm armed is due; it is then disarmed."""
        while True:
            while self._heap and self._heap[0][2].off:
                heapq.heappop(self._heap)
                self._off -= 1
            if not self._heap:
                self._changed.wait()
                continue
            left = self._heap[0][0] - time.monotonic()
            if left > 0:
                self._changed.wait(left)
                continue
            alarm = heapq.heappop(self._heap)[2]
            alarm.off = True
            return alarm

    def reset_in_child(self) -> None:
        """After a fork: the thread did not come along, and its lock may be held for good."""
        self._changed = threading.Condition(threading.Lock())
        self._heap = []
        self._off = 0
        self._thread = None


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.reset_in_child)


def _copy_of_socket(connection: psycopg.Connection[Any], where: str) -> socket.socket | None:
    """A copy of the connection's socket descriptor, taken before the statement is sent: the
    timer shuts the copy down (which ends the connection for libpq too) without ever reading
    libpq's descriptor number from another thread, where it could meanwhile name another file.
    None for a closed connection, whose statement fails at once without waiting."""
    try:
        return socket.socket(fileno=os.dup(connection.pgconn.socket))
    except psycopg.OperationalError:  # closed: psycopg raises as the statement is sent
        return None
    except OSError as exc:  # out of descriptors, say: no statement goes out unbounded
        raise StoreError(f"{where}: cannot watch the statement: {exc.strerror}") from None


class StatementWatch:
    """Bounds every statement run through ``run`` on ``connection`` (see the module docstring)
    and turns psycopg's errors into ``StoreError``s that name ``where``."""

    def __init__(self, connection: psycopg.Connection[Any], where: str) -> None:
        self.connection = connection
        self.where = where
        self.expired = False

    @contextmanager
    def bounded(self, seconds: float | None = None) -> Iterator[None]:
        """The block (one statement, or a few) may wait ``seconds`` in all
        (``THREAD_STATEMENT_SECONDS`` unless told)."""
        if seconds is None:
            seconds = THREAD_STATEMENT_SECONDS
        lock = threading.Lock()
        running = True
        copy = _copy_of_socket(self.connection, self.where)
        if copy is None:
            yield
            return

        def expire() -> None:
            with lock:  # never cuts a connection whose statement is over (and maybe reused)
                if running:
                    self.expired = True
                    try:
                        copy.shutdown(socket.SHUT_RDWR)
                    except OSError:  # not connected any more
                        pass

        try:
            alarm = _WATCHDOG.arm(seconds, expire)
        except RuntimeError as exc:  # no thread to fire the bound: the statement is not sent
            copy.close()
            raise StoreError(f"{self.where}: cannot watch the statement: {exc}") from None
        try:
            yield
        finally:
            with lock:
                running = False
            _WATCHDOG.disarm(alarm)
            copy.close()
            if self.expired:
                # The timer may fire just as the answer arrives: the block then ends normally
                # on a socket already shut down, which libpq has not noticed. Closed, the
                # connection is dropped by the pool instead of failing its next user.
                self.connection.close()

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` (a statement on this connection), bounded."""
        with self.bounded():
            return function(*args)

    def failure(self, error: psycopg.Error, *, committing: bool = False) -> StoreError:
        """The ``StoreError`` to raise for ``error``; ``committing``: it came from COMMIT."""
        if self.expired and committing:
            return ThreadStatementTimeout(
                f"{self.where}: PostgreSQL did not answer the COMMIT within "
                f"{THREAD_STATEMENT_SECONDS:g} s (the connection was closed): the write may "
                "or may not have been applied"
            )
        if self.expired:
            return ThreadStatementTimeout(
                f"{self.where}: PostgreSQL did not answer within "
                f"{THREAD_STATEMENT_SECONDS:g} s (the connection was closed)"
            )
        reason = str(error).strip().splitlines()
        return StoreError(f"{self.where}: {reason[0] if reason else type(error).__name__}")

"""A time bound for PostgreSQL statements sent from an ordinary thread.

Served requests run on the event loop, where ``postgres_loop.answered`` bounds every statement.
The rest blocks in psycopg until PostgreSQL answers: ``rooms-kit tokens add``, a server's
start-up checks (the layout version, the authentication mode, the tokens) and any direct use of
``PostgresStore`` from a thread. A server that stops answering without closing its socket would
hold those for good. ``StatementWatch`` arms a timer for each statement; when it fires, the
connection's socket is shut down in both directions, which wakes psycopg at once with a lost
connection. The pool never hands out a connection in that state again, and PostgreSQL rolls
back whatever the connection held once it notices the socket is gone. Whatever psycopg raises on
this side becomes a ``StoreError`` that names the database (without its password), so the CLI
prints one line instead of a traceback.

Not bounded here: ``rooms-kit db upgrade``, whose migration steps may rightly take long on a
large database and which waits for any other upgrader's lock (Ctrl-C stops it).
"""

from __future__ import annotations

import os
import socket
import threading
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


def _shut_down(connection: psycopg.Connection[Any]) -> None:
    """Shut the connection's socket down under psycopg's feet (a copy of its descriptor, so
    that libpq still owns, and closes, its own)."""
    try:
        descriptor = os.dup(connection.pgconn.socket)
    except (psycopg.OperationalError, OSError):  # already closed
        return
    with socket.socket(fileno=descriptor) as copy:
        try:
            copy.shutdown(socket.SHUT_RDWR)
        except OSError:  # not connected any more
            pass


class StatementWatch:
    """Bounds every statement run through ``run`` on ``connection`` (see the module docstring)
    and turns psycopg's errors into ``StoreError``s that name ``where``."""

    def __init__(self, connection: psycopg.Connection[Any], where: str) -> None:
        self.connection = connection
        self.where = where
        self.expired = False

    @contextmanager
    def bounded(self) -> Iterator[None]:
        """The block (one statement, or a few) may wait ``THREAD_STATEMENT_SECONDS`` in all."""
        seconds = THREAD_STATEMENT_SECONDS
        lock = threading.Lock()
        running = True

        def expire() -> None:
            with lock:  # never cuts a connection whose statement is over (and maybe reused)
                if running:
                    self.expired = True
                    _shut_down(self.connection)

        timer = threading.Timer(seconds, expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            with lock:
                running = False
            timer.cancel()

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` (a statement on this connection), bounded."""
        with self.bounded():
            return function(*args)

    def failure(self, error: psycopg.Error) -> StoreError:
        """The ``StoreError`` to raise for ``error``."""
        if self.expired:
            return ThreadStatementTimeout(
                f"{self.where}: PostgreSQL did not answer within "
                f"{THREAD_STATEMENT_SECONDS:g} s (the connection was closed)"
            )
        reason = str(error).strip().splitlines()
        return StoreError(f"{self.where}: {reason[0] if reason else type(error).__name__}")

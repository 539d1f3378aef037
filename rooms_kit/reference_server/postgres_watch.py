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

        timer = threading.Timer(seconds, expire)
        timer.daemon = True
        try:
            timer.start()
            yield
        finally:
            with lock:
                running = False
            timer.cancel()
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

"""A TCP relay on 127.0.0.1 that can stop passing bytes without closing anything: what a
PostgreSQL server that has stopped answering (stopped, swamped, cut off by the network) looks
like from the reference server's side of the socket."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import psycopg
import pytest

POLL_SECONDS = 0.02
GUARD_SECONDS = 60
"""Only catches a hang: the answers the tests wait for come after the bound each test sets
plus the 10 s psycopg may take to cancel a statement."""


def outcome(call: Callable[[], object]) -> object:
    """What ``call()`` returned or raised; a hang fails the test after ``GUARD_SECONDS``."""

    def caught() -> object:
        try:
            return call()
        except Exception as exc:  # the answer under test
            return exc

    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(caught).result(timeout=GUARD_SECONDS)
    except FutureTimeout:
        pytest.fail(f"no answer within {GUARD_SECONDS} s while the database is mute")
    finally:
        pool.shutdown(wait=False)


def relayed(relay: MuteRelay, direct: str) -> str:
    """The PostgreSQL address ``direct`` with its port replaced by the relay's."""
    port = psycopg.conninfo.conninfo_to_dict(direct)["port"]
    return direct.replace(f":{port}/", f":{relay.port}/")


class MuteRelay:
    """Relays every connection made to ``port`` (its own, on 127.0.0.1) to ``target_port``.

    ``mute()`` stops the bytes in both directions, for the connections open and those made
    later; ``unmute()`` lets them flow again; ``retarget(port)`` and ``cut()`` move it to another
    server, as a failover would; ``close()`` closes everything it opened."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def mute(self) -> None:
        self._flowing.clear()

    def unmute(self) -> None:
        self._flowing.set()

    def connections(self) -> int:
        """How many connections have been relayed so far."""
        with self._lock:
            return len(self._sockets) // 2

    def retarget(self, target_port: int) -> None:
        """Relay the connections made from now on to ``target_port`` (those open stay)."""
        self._target = target_port

    def cut(self) -> None:
        """End every relayed connection open now, as a server restart or failover does."""
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:  # the listener was closed
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._closed.is_set():  # close() has taken its list already
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
                for source, sink in ((client, upstream), (upstream, client)):
                    pump = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
                    self._threads.append(pump)
                    pump.start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self._closed.is_set():
                if not self._flowing.wait(POLL_SECONDS):
                    continue  # muted: nothing is read, so nothing is passed on
                readable, _, _ = select.select([source], [], [], POLL_SECONDS)
                if not readable or not self._flowing.is_set():  # muted while waiting
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except (OSError, ValueError):  # ValueError: a socket closed under select
            pass
        for end in (source, sink):  # one side ended: end the other too
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._closed.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread on Linux
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:  # both ends see the connection end, as when the server dies
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(timeout=5)
        for sock in sockets:  # only once no pump can still be waiting on it
            sock.close()

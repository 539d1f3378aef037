"""``serving.bind_workers`` against other sockets on its port (Linux ``SO_REUSEPORT`` groups).

Before, a plain socket was bound first and closed again before the group was bound; in that gap
another server could take the port (the workers then failed to start) or, using
``SO_REUSEPORT`` as the same user, join the group and silently take a share of its connections.
The gap is simulated deterministically: the other server binds when ``bind_workers`` binds its
second socket, and on the old code it bound as soon as the plain socket was closed."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rooms_kit.errors import KitError
from rooms_kit.reference_server import port_sharers, serving
from rooms_kit.reference_server.serving import SPREADS_CONNECTIONS, bind_workers

pytestmark = pytest.mark.skipif(not SPREADS_CONNECTIONS, reason="SO_REUSEPORT groups: Linux")


def _listener(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """Another server's listening socket (this test's user, as in the case that matters)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


def _inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


class Intruder:
    """Binds another server's socket on the workers' port at the first ``bind`` of the group
    that names the port (``bind_workers``'s second socket; the old code's first)."""

    def __init__(self, host: str, *, reuse_port: bool) -> None:
        self.host = host
        self.reuse_port = reuse_port
        self.socket: socket.socket | None = None
        self.refused: OSError | None = None

    def __call__(self, host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
        if reuse_port and port and self.socket is None and self.refused is None:
            try:
                self.socket = _listener(self.host, port, reuse_port=self.reuse_port)
            except OSError as exc:
                self.refused = exc
        return REAL_BIND(host, port, reuse_port=reuse_port)


REAL_BIND = serving.bind


@pytest.fixture
def closing() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_a_server_joining_the_group_while_it_is_bound_is_refused(
    host: str, monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]
) -> None:
    intruder = Intruder(host, reuse_port=True)
    monkeypatch.setattr(serving, "bind", intruder)
    with pytest.raises(KitError) as raised:
        closing.extend(bind_workers(host, 0, 2))
    assert intruder.socket is not None, intruder.refused
    closing.append(intruder.socket)
    port = intruder.socket.getsockname()[1]
    assert str(raised.value) == (
        f"cannot listen on {host}:{port}: Address already in use (another listening socket of "
        "this user shares the port through SO_REUSEPORT)"
    )
    # every socket of the workers was closed again: the other server's is the only one left
    assert [inode for _, inode in port_sharers.listeners(port)] == [_inode(intruder.socket)]


def test_a_plain_server_cannot_take_the_port_while_the_group_is_bound(
    monkeypatch: pytest.MonkeyPatch, closing: list[socket.socket]
) -> None:
    intruder = Intruder("127.0.0.1", reuse_port=False)
    monkeypatch.setattr(serving, "bind", intruder)
    sockets = bind_workers("127.0.0.1", 0, 3)
    closing.extend(sockets)
    assert intruder.socket is None
    assert isinstance(intruder.refused, OSError)
    port = sockets[0].getsockname()[1]
    assert sorted(inode for _, inode in port_sharers.listeners(port)) == sorted(
        _inode(sock) for sock in sockets
    )


@pytest.mark.parametrize(
    ("theirs", "ours", "refused"),
    [
        ("0.0.0.0", "127.0.0.1", True),  # every address: connections to ours may reach it
        ("127.0.0.1", "0.0.0.0", True),
        ("::", "::1", True),
        ("127.0.0.2", "127.0.0.1", False),  # another address: a plain bind is accepted too
    ],
)
def test_an_overlapping_address_counts_and_another_one_does_not(
    theirs: str, ours: str, refused: bool, closing: list[socket.socket]
) -> None:
    other = _listener(theirs, 0, reuse_port=True)
    closing.append(other)
    port = other.getsockname()[1]
    if refused:
        with pytest.raises(KitError, match=f"cannot listen on {ours}:{port}: Address already"):
            closing.extend(bind_workers(ours, port, 2))
    else:
        closing.extend(bind_workers(ours, port, 2))
        plain = _listener(ours, 0, reuse_port=False)  # what a single server would get
        closing.append(plain)


def test_no_list_of_listening_sockets_is_a_clear_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(port_sharers, "TABLES", (tmp_path,))  # a folder: unreadable as a file
    with pytest.raises(KitError) as raised:
        bind_workers("127.0.0.1", 0, 2)
    assert str(raised.value).startswith("cannot listen on 127.0.0.1:")
    assert str(raised.value).endswith(
        "with workers: cannot read the kernel's list of listening sockets to check that no "
        "other server shares the port (Is a directory)"
    )


def test_the_tables_are_read_as_the_kernel_writes_them(closing: list[socket.socket]) -> None:
    """Addresses in both tables, a wildcard, and a socket only bound (not listed)."""
    expected: dict[int, Any] = {}
    for host in ("127.0.0.1", "::1", "0.0.0.0", "::"):
        sock = _listener(host, 0, reuse_port=False)
        closing.append(sock)
        expected[sock.getsockname()[1]] = [(ipaddress.ip_address(host), _inode(sock))]
    bound = socket.socket()
    closing.append(bound)
    bound.bind(("127.0.0.1", 0))
    expected[bound.getsockname()[1]] = []
    for port, listed in expected.items():
        assert list(port_sharers.listeners(port)) == listed

"""Which other sockets listen on a port we listen on (Linux: ``/proc/net/tcp`` and ``tcp6``).

A ``SO_REUSEPORT`` group takes in any socket of the same user that binds its address with the
option set, and the kernel then hands that socket a share of the connections. No socket option
closes a group to newcomers (measured: a plain socket left bound beside the group blocks plain
binders only, not ``SO_REUSEPORT`` ones), so ``serving.bind_workers`` binds its group first and
then looks here for a listener it did not make: one there before it (the group it would
otherwise have joined) or one that joined while it was binding.

The kernel lists every listening TCP socket in ``/proc/net/tcp`` (IPv4) and ``/proc/net/tcp6``
(IPv6) with its local address, state and inode; a socket's inode is also ``fstat``'s
``st_ino`` of its descriptor, which tells ours apart. A socket only bound (not yet listening) is
not listed, and one that joins after the look is not seen: nothing but the user's own discipline
stops that for the server's whole life.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

LISTEN = "0A"
"""The kernel's TCP_LISTEN state, as the tables print it."""
TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address:
    """A table's hexadecimal address: 32-bit words, each printed in host byte order."""
    words = [int(text[i : i + 8], 16) for i in range(0, len(text), 8)]
    packed = b"".join(struct.pack("=I", word) for word in words)
    address = ipaddress.ip_address(packed)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def listeners(port: int) -> Iterator[tuple[Address, int]]:
    """(local address, inode) of every socket listening on ``port``; ``OSError`` when a table
    cannot be read."""
    for table in TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except FileNotFoundError:  # a kernel without IPv6
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            host, _, hex_port = fields[1].partition(":")
            if int(hex_port, 16) == port:
                yield _address(host), int(fields[9])


def _overlap(ours: Address, theirs: Address) -> bool:
    """Whether connections to ``ours`` may reach a socket bound to ``theirs``."""
    return ours == theirs or ours.is_unspecified or theirs.is_unspecified


def strangers(sockets: list[socket.socket]) -> int:
    """How many listening sockets not in ``sockets`` (all bound to one address) share their
    port and address (a wildcard address on either side counts)."""
    host, port = sockets[0].getsockname()[:2]
    ours = ipaddress.ip_address(host.split("%")[0])
    if isinstance(ours, ipaddress.IPv6Address) and ours.ipv4_mapped is not None:
        ours = ours.ipv4_mapped
    inodes = {os.fstat(sock.fileno()).st_ino for sock in sockets}
    return sum(
        1 for address, inode in listeners(port) if inode not in inodes and _overlap(ours, address)
    )

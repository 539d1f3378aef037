"""Slow clients cannot starve a server: 1,100 connections dribbling headers into a server limited
to 1,024 descriptors, and normal requests are still answered, with a quiet log."""

from __future__ import annotations

import json
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rooms_kit.reference_server.limits import DESCRIPTOR_RESERVE
from tests.reference_server.hostile import (
    MEMORY_LIMIT_KB,
    exchange,
    peak_memory_kb,
    request,
)
from tests.reference_server.support import ServerProcess

SERVER_DESCRIPTORS = 1024
SLOW_CLIENTS = 1100


def limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (SERVER_DESCRIPTORS, SERVER_DESCRIPTORS))


@pytest.fixture
def enough_descriptors_here() -> Iterator[None]:
    """This test process holds the 1,100 client sockets itself."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = SLOW_CLIENTS + 200
    if hard != resource.RLIM_INFINITY and hard < wanted:
        raise AssertionError(f"the test needs {wanted} descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_normal_requests_are_answered_under_1100_slow_connections(
    tmp_path: Path, enough_descriptors_here: None
) -> None:
    """R-limits-3"""
    with ServerProcess(
        "--dev-tokens", "--database", str(tmp_path / "rooms.db"), cwd=tmp_path,
        preexec_fn=limit_descriptors,
    ) as server:  # fmt: skip
        listening = next(r for r in server.records() if r.get("event") == "listening")
        assert listening["max_connections"] == SERVER_DESCRIPTORS - DESCRIPTOR_RESERVE
        slow: list[socket.socket] = []
        try:
            for _ in range(SLOW_CLIENTS):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", server.port))
                slow.append(sock)
            time.sleep(0.5)
            for sock in slow:  # the start of a request, never finished
                try:
                    sock.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                except OSError:
                    pass  # already displaced by a later connection
            answers = []
            for _ in range(5):
                answers.append(exchange(server.port, request("GET", "/games/v1/rooms"), timeout=60))
            health = exchange(server.port, request("GET", "/healthz", token=None), timeout=60)
        finally:
            for sock in slow:
                sock.close()
        peak_kb = peak_memory_kb(server.pid)
        assert server.terminate() == 0
    assert [a.status for a in answers] == [200] * 5
    assert all(json.loads(a.body)["kind"] == "games#roomList" for a in answers)
    assert health.status == 200
    log = "".join(server.lines)
    assert "Traceback" not in log
    assert "cannot accept connections" not in log  # the cap kept descriptors free
    assert len(log) < 200_000  # access lines for the requests above, and little else
    assert peak_kb < MEMORY_LIMIT_KB

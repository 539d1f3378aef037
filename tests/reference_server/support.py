"""Running the reference server for tests: in-process (a blocking httpx transport into the ASGI
app) or as a real ``rooms-kit serve`` process on 127.0.0.1, stopped by its own pid."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from rooms_api.client import RetryPolicy, RoomsClient

from rooms_kit.reference_server.stores import upgrade
from tests.reference_server.postgres_cluster import Cluster

NO_RETRY = RetryPolicy(max_retries=0)


def empty_postgres_database(cluster: Cluster, name: str) -> str:
    """A new database in ``cluster`` at the current layout; returns its address."""
    url = cluster.create_database(name)
    upgrade(url)
    return url


def active_statements(url: str, application_name: str) -> int:
    """How many statements of the connections named ``application_name`` PostgreSQL is
    running now (asked on a connection of its own)."""
    import psycopg  # noqa: PLC0415  (the postgres extra: only PostgreSQL tests call this)

    with psycopg.connect(url, autocommit=True) as other:
        row = other.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND state = 'active'",
            (application_name,),
        ).fetchone()
    assert row is not None
    return int(row[0])


class PortalTransport(httpx.BaseTransport):
    """Blocking transport that hands each request to an ASGI app running on a portal's loop."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def forward() -> httpx.Response:
            copy = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            response = await self._inner.handle_async_request(copy)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return self._portal.call(forward)


@contextmanager
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


@contextmanager
def in_process_http(app: Any) -> Iterator[httpx.Client]:
    """An HTTP client of ``app``, run in this process on a portal's event loop."""
    with (
        portal() as running,
        httpx.Client(base_url="http://127.0.0.1", transport=PortalTransport(app, running)) as http,
    ):
        yield http


@contextmanager
def serve_logged(
    arguments: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``rooms-kit serve ARGUMENTS`` with its standard error in ``log``; killed by its pid on
    the way out if the test left it running."""
    command = [sys.executable, "-m", "rooms_kit.cli.main", "serve", *arguments]
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=stderr, env=env,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


class InProcess:
    """Clients of one in-process app, one per player (``dev-<player>`` tokens by default)."""

    def __init__(self, app: Any, running: BlockingPortal) -> None:
        self.app = app
        self.transport = PortalTransport(app, running)
        self._clients: list[RoomsClient] = []

    def client(self, player: str | None, *, token: str | None = None) -> RoomsClient:
        bearer = token if token is not None else (f"dev-{player}" if player else None)
        client = RoomsClient(
            bearer, base_url="http://127.0.0.1/", transport=self.transport, retry=NO_RETRY
        )
        self._clients.append(client)
        return client

    def http(self) -> httpx.Client:
        return httpx.Client(base_url="http://127.0.0.1", transport=self.transport)

    def close(self) -> None:
        for client in self._clients:
            client.close()


class ServerProcess:
    """``rooms-kit serve`` in a child process; its JSON-lines log is collected as it comes."""

    def __init__(self, *args: str, cwd: Path, preexec_fn: Callable[[], None] | None = None) -> None:
        command = [sys.executable, "-m", "rooms_kit.cli.main", "serve", "--port", "0", *args]
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            preexec_fn=preexec_fn,  # noqa: PLW1509 - only setrlimit, in tests
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.port = self._wait_until_listening()
        self._drain = threading.Thread(target=self._collect, daemon=True)
        self._drain.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_until_listening(self) -> int:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            record = _json_or_none(line)
            if record and record.get("event") == "listening":
                return int(record["port"])
        self.process.wait()
        self.process.stderr.close()
        raise AssertionError("the server exited before listening:\n" + "".join(self.lines))

    def _collect(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def records(self) -> list[dict[str, Any]]:
        return [r for r in (_json_or_none(line) for line in self.lines) if r is not None]

    def client(self, player: str | None, *, token: str | None = None) -> RoomsClient:
        bearer = token if token is not None else (f"dev-{player}" if player else None)
        return RoomsClient(bearer, base_url=self.base_url + "/", retry=NO_RETRY)

    def terminate(self) -> int:
        """SIGTERM to our own child, then wait for it and for its log to be read to the end."""
        os.kill(self.pid, signal.SIGTERM)
        return self._reap()

    def kill(self) -> int:
        os.kill(self.pid, signal.SIGKILL)
        return self._reap()

    def _reap(self) -> int:
        status = self.process.wait()
        self._drain.join()
        assert self.process.stderr is not None
        self.process.stderr.close()
        return status

    def __enter__(self) -> ServerProcess:
        return self

    def worker_pids(self) -> list[int]:
        """Pids of the worker processes the supervisor reported (``--workers``), in order."""
        return [int(r["pid"]) for r in self.records() if r.get("event") == "worker_started"]

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.kill()
        for pid in self.worker_pids():  # our grandchildren: never leave one serving
            if _is_spawned_python(pid):  # still that worker, not a reused pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _is_spawned_python(pid: int) -> bool:
    try:
        return b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _json_or_none(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

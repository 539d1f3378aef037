"""Start the bundled reference server for a run (``make contract``), and stop it again.

The server runs as a child process, ``rooms-kit serve``, on 127.0.0.1 with port 0 (the kernel
picks a free one; the server logs the port it got), a fresh SQLite file in a temporary folder,
and ``--dev-tokens``, so it accepts development tokens (``dev-<playerId>``) and no others. It is
stopped by its own pid (SIGTERM, then SIGKILL if it does not stop).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from rooms_kit.contract.failures import CannotRun

DEVELOPMENT_TOKENS = ("dev-alice", "dev-bob", "dev-carol")
HOST = "127.0.0.1"
START_LIMIT_SECONDS = 60.0
STOP_LIMIT_SECONDS = 30.0
POLL_SECONDS = 0.05


def _listening_port(log: Path) -> int | None:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == "listening":
            return int(entry["port"])
    return None


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_LIMIT_SECONDS)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def reference_server() -> Iterator[str]:
    """Yield the base URL of a freshly started reference server; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="rooms-kit-contract-") as folder:
        log = Path(folder) / "server.log"
        command = [
            sys.executable,
            "-m",
            "rooms_kit.cli.main",
            "serve",
            "--host",
            HOST,
            "--port",
            "0",
            "--database",
            str(Path(folder) / "rooms.db"),
            "--dev-tokens",
        ]
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=sink, stdin=subprocess.DEVNULL)
        try:
            base_url = _wait_until_up(process, log)
            yield base_url
        finally:
            _stop(process)


def _wait_until_up(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_LIMIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise CannotRun(
                f"the reference server exited with status {process.returncode}:\n{tail}"
            )
        port = _listening_port(log)
        if port is not None and _healthy(f"http://{HOST}:{port}"):
            return f"http://{HOST}:{port}"
        time.sleep(POLL_SECONDS)
    raise CannotRun(f"the reference server did not answer within {START_LIMIT_SECONDS:.0f} s")

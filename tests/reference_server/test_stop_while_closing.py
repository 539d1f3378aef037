"""A second SIGTERM or SIGINT while ``serve`` closes the database after a stop (the writer
committing what is queued, the store closing its connections), which can take seconds on a slow
PostgreSQL. The close must run to its end and ``serve`` exit 0 with ``stopped``; before, the
second SIGTERM killed the process halfway through the close (exit -15) and a second Ctrl-C
broke it off with 'interrupted' (exit 130)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.reference_server.support import serve_logged

GUARD_SECONDS = 60
"""Only catches a hang."""

SLOW_CLOSE = """
import os, sys, time
from rooms_kit.reference_server import app as app_module

original = app_module.ReferenceApp.close

def say(line):  # one write with its newline: two workers print at the same moment
    os.write(2, (line + "\\n").encode())

def slow_close(self):
    say('{"event": "test_closing", "pid": %d}' % os.getpid())
    deadline = time.monotonic() + 60  # only a guard against a test that never signals
    while not os.path.exists("signalled") and time.monotonic() < deadline:
        time.sleep(0.05)
    original(self)
    say('{"event": "test_closed"}')

app_module.ReferenceApp.close = slow_close
"""
"""A ``sitecustomize`` that gives ``serve`` (and each of its spawned workers) a close that lasts
until the test has sent its second signal (standing for a slow database: a fixed two seconds
could pass before a loaded machine let the test send it) and says when it starts and when it has
ended (print wrote the line and its newline apart, and two workers' lines ran together in the
log)."""


def _wait_for(log: Path, event: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + GUARD_SECONDS
    while f'"event": "{event}"' not in log.read_text() and f'"event":"{event}"' not in (
        log.read_text()
    ):
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {event}: {log.read_text()}"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("workers", "sig"), [("1", signal.SIGTERM), ("1", signal.SIGINT), ("2", signal.SIGTERM)]
)
def test_a_second_signal_while_serve_closes_the_database_lets_the_close_finish(
    tmp_path: Path, workers: str, sig: signal.Signals
) -> None:
    """With workers, the second SIGTERM goes to the closing worker itself, as a process manager
    that signals every process of the service sends it (and the parent passes its own on)."""
    (tmp_path / "sitecustomize.py").write_text(SLOW_CLOSE)
    log = tmp_path / "serve.log"
    arguments = ["--port", "0", "--dev-tokens", "--workers", workers]
    arguments += ["--database", str(tmp_path / "rooms.db")]
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    with serve_logged(arguments, tmp_path, log, env) as process:
        _wait_for(log, "listening", process)
        os.kill(process.pid, sig)
        _wait_for(log, "test_closing", process)
        closing = next(
            json.loads(line)["pid"] for line in log.read_text().splitlines()
            if "test_closing" in line
        )  # fmt: skip
        os.kill(closing, sig)
        (tmp_path / "signalled").touch()  # the close may end now: the signal came during it
        status = process.wait(timeout=GUARD_SECONDS)  # a guard against a hang only
    text = log.read_text()
    assert status == 0, text
    assert "Traceback" not in text
    events = [json.loads(line).get("event") for line in text.splitlines() if line.startswith("{")]
    assert events.count("test_closed") == int(workers), text
    assert events[-2:] == ["test_closed", "stopped"], text

"""``rooms-kit proxy`` as a user runs it: a child process, stopped by a signal to its own pid."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rooms_kit.reference_server.app import create_reference_app
from tests.contract.broken_variants.variants import WrongKind
from tests.traffic.support import LoopbackServer, scenario

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
TOKENS = ("dev-alice", "dev-bob", "dev-carol", "dev-eve")


class ProxyProcess:
    def __init__(self, *args: str, cwd: Path) -> None:
        command = [sys.executable, "-m", "rooms_kit.cli.main", "proxy", "--port", "0", *args]
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stderr is not None
        self.first = self.process.stderr.readline()
        found = LISTENING.search(self.first)
        if found is None:
            self.process.kill()
            raise AssertionError(f"the proxy did not start: {self.first}")
        self.url = found.group(1)

    def stop(self, sig: signal.Signals) -> tuple[int, str, str]:
        os.kill(self.process.pid, sig)
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, self.first + err

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.communicate()


@pytest.fixture
def reference() -> Iterator[str]:
    app = create_reference_app(":memory:", dev_tokens=True)
    with LoopbackServer(app) as server:
        yield server.url
    app.close()


@pytest.fixture
def wrong_kind() -> Iterator[str]:
    rewriter = WrongKind()
    with LoopbackServer(rewriter) as server:
        yield server.url
    rewriter.close()


def _no_token_in(*texts: str) -> None:
    for text in texts:
        for token in TOKENS:
            assert token not in text


def test_sigterm_writes_reports_and_exits_1_on_a_violation(wrong_kind: str, tmp_path: Path) -> None:
    record = tmp_path / "traffic.ndjson.gz"
    reports = tmp_path / "reports"
    proxy = ProxyProcess(
        "--upstream",
        wrong_kind,
        "--record",
        str(record),
        "--report-dir",
        str(reports),
        cwd=tmp_path,
    )
    try:
        run = scenario(proxy.url)
        status, out, err = proxy.stop(signal.SIGTERM)
    finally:
        proxy.kill()
    assert status == 1, err
    violations = [line for line in out.splitlines() if line.startswith("proxy:")]
    named = {re.search(r"\[(\w+)\]", line).group(1) for line in violations}  # type: ignore[union-attr]
    assert named == {"strict_schema", "openapi_response_schema"}
    assert all("games#rooms" in line or "kind" in line for line in violations), violations
    assert out.splitlines()[-1].startswith("VIOLATIONS: ")
    junit = (reports / "junit.xml").read_text(encoding="utf-8")
    assert 'type="strict_schema"' in junit
    text = (reports / "report.txt").read_text(encoding="utf-8")
    assert "authorization: Bearer player-1" in text.lower().replace("bearer", "Bearer")
    html = (reports / "report.html").read_text(encoding="utf-8")
    assert "strict_schema" in html
    with gzip.open(record, "rt", encoding="utf-8") as stream:
        recorded = stream.read()
    lines = [json.loads(line) for line in recorded.splitlines()]
    seen = re.search(r"in (\d+) exchange", out.splitlines()[-1])
    assert seen is not None and len(lines) == int(seen.group(1)) == len(run.steps)
    players = {f"player-{number}" for number in range(1, 6)}  # alice, bob, eve, carol, dave
    assert {line["player"] for line in lines} == {*players, "anonymous"}
    _no_token_in(out, err, recorded, junit, text, html)


def test_sigint_on_clean_traffic_exits_0(reference: str, tmp_path: Path) -> None:
    proxy = ProxyProcess("--upstream", reference, cwd=tmp_path)
    try:
        scenario(proxy.url)
        status, out, err = proxy.stop(signal.SIGINT)
    finally:
        proxy.kill()
    assert status == 0, err
    assert out.splitlines() == ["NO VIOLATION: 25 exchange(s) seen"]
    _no_token_in(out, err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--upstream", "ftp://example"], "must be an http:// or https:// URL"),
        (["--upstream", "http://127.0.0.1:1/?a=b"], "must not carry a query"),
        (["--upstream", "http://127.0.0.1:1", "--rotate-bytes", "1M"], "--rotate-bytes needs"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rooms_kit.cli.main", "proxy", "--port", "0", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr

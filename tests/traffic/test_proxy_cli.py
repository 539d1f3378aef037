"""``rooms-kit proxy`` as a user runs it: a child process, stopped by a signal to its own pid."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rooms_kit.reference_server.app import create_reference_app
from tests.contract.broken_variants.variants import WrongKind
from tests.traffic.support import LoopbackServer, scenario

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
TOKENS = ("dev-alice", "dev-bob", "dev-carol", "dev-eve")
# the scenario's players in order of their first request, as the proxy names them
ALIASES = {
    "player-1": "dev-alice",
    "player-2": "dev-bob",
    "player-3": "dev-eve",
    "player-4": "dev-carol",
    "player-5": "dev-dave",
}


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
    _reproduce_runs(text, wrong_kind)


def _reproduce_runs(report: str, upstream: str) -> None:
    """The first ``reproduce: curl …`` line of a report names the upstream and, once the alias is
    replaced by the player's token, sends the same request again (read here as curl would)."""
    line = next(line for line in report.splitlines() if line.strip().startswith("reproduce: "))
    words = shlex.split(line.strip().removeprefix("reproduce: "))
    assert words[:2] == ["curl", "-sS"] and words[-1].startswith(upstream + "/games/v1/rooms")
    method, headers, data = "GET", {}, None
    pairs = iter(words[2:-1])
    for word in pairs:
        if word == "-X":
            method = next(pairs)
        elif word == "-H":
            name, _, value = next(pairs).partition(": ")
            headers[name] = " ".join(ALIASES.get(part, part) for part in value.split(" "))
        elif word == "--data-binary":
            data = next(pairs).encode()
    with httpx.Client(trust_env=False, timeout=20) as client:
        again = client.request(method, words[-1], headers=headers, content=data)
    assert again.status_code == 200, again.text  # the token worked
    assert again.json()["kind"] == "games#rooms"  # and the defect shows again


def test_sigint_on_clean_traffic_exits_0(reference: str, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proxy = ProxyProcess("--upstream", reference, "--report-dir", str(reports), cwd=tmp_path)
    try:
        scenario(proxy.url)
        status, out, err = proxy.stop(signal.SIGINT)
    finally:
        proxy.kill()
    assert status == 0, err
    assert out.splitlines() == ["NO VIOLATION: 25 exchange(s) seen"]
    _no_token_in(out, err)
    suites = ET.parse(reports / "junit.xml").getroot()
    cases = {(case.get("classname"), case.get("name")): case for case in suites.iter("testcase")}
    for wanted in [
        ("proxy.exchanges.get", "strict_schema"),
        ("proxy.exchanges.list", "openapi_response_schema"),
        ("proxy.lifecycle.list", "invitation_listed"),
        ("proxy.lifecycle.join", "status_version_monotonic"),
        ("proxy.lifecycle.get", "room_id_matches"),
    ]:
        assert wanted in cases, sorted(cases)
    assert all(case.find("failure") is None for case in cases.values())
    assert {suite.get("name") for suite in suites} == {"exchanges", "lifecycle"}
    assert sum(int(suite.get("tests", "0")) for suite in suites) == len(cases)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--upstream", "ftp://example"], "must be an http:// or https:// URL"),
        (
            ["--upstream", "http://127.0.0.1:1/?oauth_token=s3cret"],
            "a query or a fragment in the URL is not supported",
        ),
        (["--upstream", "http://127.0.0.1:1/#s3cret"], "the URL is not shown"),
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
    assert "s3cret" not in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_recording_that_cannot_be_written_is_reported_once_and_exits_2(
    reference: str, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    proxy = ProxyProcess(
        "--upstream",
        reference,
        "--record",
        "/dev/full",
        "--report-dir",
        str(reports),
        cwd=tmp_path,
    )
    try:
        with httpx.Client(trust_env=False, timeout=20) as client:
            answers = [
                client.get(f"{proxy.url}/games/v1/rooms", headers={"authorization": "Bearer x"})
                for _ in range(3)
            ]
        status, out, err = proxy.stop(signal.SIGTERM)
    finally:
        proxy.kill()
    assert [answer.status_code for answer in answers] == [401] * 3  # forwarding went on
    assert "Traceback" not in err
    reason = "/dev/full: cannot write: No space left on device"
    stopped = [line for line in err.splitlines() if "recording stopped" in line]
    assert len(stopped) == 1 and reason in stopped[0], err
    assert "recording incomplete (0 line(s) in /dev/full)" in err
    assert status == 2, err
    assert out.splitlines()[-1].endswith("3 exchange(s) seen")
    assert (reports / "report.txt").is_file()


def test_a_second_signal_ends_the_wait_for_exchanges_in_flight(tmp_path: Path) -> None:
    """The stop waits up to 30 s for answers in flight; a second Ctrl-C ends that wait at once
    (as it did not before: the user had to sit out the 30 s), and the exchange still waiting is
    ended as when the wait runs out: its client gets 503, it is said, counted and no violation."""
    arrived = threading.Event()

    async def hanging(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            arrived.set()
            await asyncio.sleep(3600)

    with LoopbackServer(hanging) as upstream:
        proxy = ProxyProcess("--upstream", upstream.url, "--timeout", "120", cwd=tmp_path)
        answers: list[httpx.Response | Exception] = []

        def ask() -> None:
            try:
                answers.append(
                    httpx.get(f"{proxy.url}/games/v1/rooms/r1", timeout=60, trust_env=False)
                )
            except httpx.HTTPError as exc:
                answers.append(exc)

        client = threading.Thread(target=ask)
        try:
            client.start()
            assert arrived.wait(20)
            os.kill(proxy.process.pid, signal.SIGINT)
            port = int(proxy.url.rsplit(":", 1)[1])
            deadline = time.monotonic() + 20
            while _accepts(port):  # the first signal has begun the stop: no more accepting
                assert time.monotonic() < deadline, "the proxy did not begin its stop"
                time.sleep(0.05)
            os.kill(proxy.process.pid, signal.SIGINT)
            out, err = proxy.process.communicate(timeout=20)  # far less than the 30 s wait
        finally:
            proxy.kill()
            client.join(60)
    assert proxy.process.returncode == 0, err
    assert out.splitlines() == ["NO VIOLATION: 1 exchange(s) seen"]
    (answer,) = answers
    assert isinstance(answer, httpx.Response), answer
    assert answer.status_code == 503
    assert answer.json()["error"]["errors"][0]["reason"] == "proxyStopping"
    lines = err.splitlines()
    assert "rooms-kit proxy: signalled again: the exchanges still in flight are ended now" in lines
    assert any(
        re.fullmatch(
            r"rooms-kit proxy: exchange 1 \(get GET /games/v1/rooms/r1\) went through neither "
            r"checked nor recorded: no answer had come \d+(\.\d)? s after the stop began: "
            r"answered 503 \(proxyStopping\)",
            line,
        )
        for line in lines
    ), err


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True

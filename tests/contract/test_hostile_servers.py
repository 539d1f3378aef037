"""No server can hang the suite, crash it or exhaust its memory.

Each hostile server of the catalogue runs on 127.0.0.1 (port 0) and the real command runs against
it with short bounds: it must end in bounded time with exit status 1, name the expected check in
its report, and leave the process as it found it (no thread left behind).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from rooms_kit.cli.main import main
from rooms_kit.contract import Results, Target, run_suite
from rooms_kit.contract.bounded import Limits
from rooms_kit.contract.report import render_junit, render_text
from tests.contract.broken_variants.rewriting import Answer, Call, Rewriter
from tests.contract.hostile.behaviours import (
    CATALOGUE,
    Hostile,
    compression_bomb,
    hang,
    slow_but_valid,
)
from tests.contract.hostile.server import HostileServer
from tests.contract.peak import run_python

TOKENS = ["dev-alice", "dev-bob"]
MAX_TIME = 30.0  # the run's deadline in these tests
GENEROUS = MAX_TIME + 30.0  # a run that takes longer than this has hung somewhere


def _ours() -> list[str]:
    """Live threads, but for the worker threads the reference app's framework keeps idle for a
    while (anyio's pool: they end on their own)."""
    return sorted(t.name for t in threading.enumerate() if not t.name.startswith("AnyIO worker"))


def _deterministic_phases(url: str, request_timeout: float = 1.0) -> Results:
    """The negative requests and the scenarios (between them they call every operation) over real
    HTTP, with a 1 s request timeout (unless told) and the tests' deadline."""
    return run_suite(
        Target.url(url),
        TOKENS,
        phases=("negative", "scenarios"),
        limits=Limits(request_timeout=request_timeout),
        max_time=MAX_TIME,
    )


def _contract(url: str, *options: str) -> list[str]:
    return [
        "contract",
        "--url",
        url,
        "--token",
        "dev-alice",
        "--token",
        "dev-bob",
        "--profile",
        "smoke",
        *options,
    ]


def test_catalogue_names_distinct_behaviours() -> None:
    assert len({hostile.name for hostile in CATALOGUE}) == len(CATALOGUE)
    assert all(hostile.behaviour for hostile in CATALOGUE)


@pytest.mark.parametrize("hostile", CATALOGUE, ids=lambda hostile: hostile.name)
def test_hostile_server_is_named_in_bounded_time(hostile: Hostile) -> None:
    """Each hostile server is named by its check, in bounded time, with evidence."""
    threads = _ours()
    started = time.monotonic()
    with HostileServer(hostile.misbehave, hostile.on, hostile.upstream()) as url:
        results = _deterministic_phases(url)
    elapsed = time.monotonic() - started
    text = render_text(results)
    assert results.exit_status == 1, text
    assert hostile.caught_by in results.failed_checks, text
    assert "unexpected_answer" not in results.failed_checks, text  # no error got through as one
    assert [unit.error for unit in results.units if unit.error] == [], text
    record = next(f for f in results.failures if f.check == hostile.caught_by)
    assert record.exchange is not None
    assert record.exchange.curl().startswith("curl ")
    assert "reproduce: curl " in text.split(f"[{hostile.caught_by}]", 1)[1]
    assert hostile.caught_by in render_junit(results)
    assert elapsed < GENEROUS
    assert _ours() == threads


def test_hanging_operation_through_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The smoke profile through ``rooms-kit contract`` (every unit that calls list costs a
    timeout of 2 s, and most units do, so the deadline ends the run however fast the machine):
    exit 1, both failures named, reports written."""
    with HostileServer(hang, "list") as url:
        status = main(
            _contract(
                url, "--request-timeout", "2", "--max-time", "12", "--report-dir", str(tmp_path)
            )
        )
    out = capsys.readouterr().out
    assert status == 1, out
    assert "[responds_in_time]" in out
    assert "[run_deadline]" in out
    assert "deadline of 12 s" in out
    assert "request timeout of 2 s" in out
    assert "responds_in_time" in (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert "responds_in_time" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_compression_bomb_stays_in_bounded_memory() -> None:
    """A separate ``rooms-kit contract`` process meets a gzip bomb: exit 1, peak RSS < 300 MB."""
    with HostileServer(compression_bomb("gzip"), "get") as url:
        command = _contract(url, "--request-timeout", "2", "--max-time", f"{MAX_TIME:g}")
        status, out, err, peak = run_python(
            f"import sys\nfrom rooms_kit.cli.main import main\nsys.exit(main({command!r}))"
        )
    assert status == 1, err[-2000:]
    assert "[response_size]" in out
    assert peak < 300 * 1024, f"peak {peak} KB"


def test_slow_but_valid_server_is_conformant() -> None:
    """Answers that take most of the request timeout are not a failure; the report shows them.
    (0.6 s of a 1 s timeout left 0.4 s, for every request of the run, to a loaded machine.)"""
    with HostileServer(slow_but_valid(1.5), "dismiss") as url:
        results = _deterministic_phases(url, request_timeout=2.5)
    text = render_text(results)
    assert results.exit_status == 0, text
    assert "CONFORMANT: " in text
    dismiss = next(line for line in text.splitlines() if line.startswith("dismiss ")).split()
    assert int(dismiss[2]) >= 1500, dismiss  # p50 in ms: every dismiss took 1.5 s
    assert "dismiss (" in text.split("slowest request per operation:", 1)[1]


def test_a_slow_server_stops_at_the_deadline_with_what_was_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every answer 3 s late: the run stops at --max-time, exit 1, run_deadline says what ran."""
    started = time.monotonic()
    with HostileServer(slow_but_valid(3.0), None) as url:
        status = main(_contract(url, "--max-time", "14"))
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert status == 1, out
    assert "[run_deadline]" in out
    assert "deadline of 14 s" in out
    assert "not run: " in out
    assert "responds_in_time" not in out.split("FAILURE", 1)[1].split("[run_deadline]")[0]
    assert elapsed < GENEROUS


class _HangingApp(Rewriter):
    """An in-process app whose get never answers."""

    async def rewritten(self, call: Call) -> Answer:
        if call.operation == "get":
            await asyncio.sleep(3600)
        return await self.ask(call)


def test_an_in_process_app_that_hangs_is_bounded_too() -> None:
    app = _HangingApp()
    started = time.monotonic()
    try:
        results = run_suite(
            Target.asgi(app),
            TOKENS,
            phases=("scenarios",),
            limits=Limits(request_timeout=0.5),
            max_time=MAX_TIME,
        )
    finally:
        app.close()
    assert time.monotonic() - started < GENEROUS
    assert results.exit_status == 1
    assert "responds_in_time" in results.failed_checks
    assert "unexpected_answer" not in results.failed_checks

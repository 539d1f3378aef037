"""The run's deadline stops Hypothesis and Schemathesis cleanly between examples and steps, and
the results say what was and was not checked."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from rooms_kit.cli.main import main
from rooms_kit.contract import Results, Target, run_suite
from rooms_kit.contract.failures import Deadline
from rooms_kit.contract.profiles import PROFILES
from rooms_kit.contract.reference import reference_server
from rooms_kit.contract.report import render_html, render_junit, render_text
from rooms_kit.contract.runner import open_run, plan, run_units
from rooms_kit.reference_server.app import create_reference_app

TOKENS = ["dev-alice", "dev-bob"]


@pytest.mark.parametrize("phase", ["fuzz", "stateful"])
def test_the_deadline_cuts_a_generated_phase_short(phase: str) -> None:
    """The full profile's generated phases take seconds; a deadline of 0.3 s, set once setup is
    done, must stop the phase's first unit between two examples or steps."""
    app = create_reference_app(":memory:", dev_tokens=True)
    started = time.monotonic()
    try:
        with open_run(Target.asgi(app), TOKENS, profile="full") as ctx:
            ctx.session.deadline = Deadline(0.3)
            units = [unit for unit in plan(PROFILES["full"], ctx.openapi) if unit.phase == phase]
            run_units(ctx, units)
            results = ctx.results
    finally:
        app.close()
    assert time.monotonic() - started < 60
    text = render_text(results)
    assert results.exit_status == 1, text
    assert results.failed_checks == {"run_deadline"}, text
    cut = [unit for unit in results.units if unit.error == "cut short by the run deadline"]
    assert len(cut) == 1 and cut[0].phase == phase
    record = next(f for f in results.failures if f.check == "run_deadline")
    assert "deadline of 0.3 s" in record.title
    assert f"cut short: {cut[0].name}" in record.message
    assert (
        text.index("ROOT CAUSE 1: [run_deadline]")
        < text.index("  finished: ")
        < text.index("check  ")
    )
    if phase == "fuzz":
        assert "fuzz: reportStatus (negative)" in results.not_run
        assert "not run: " in record.message
        skipped = ET.fromstring(render_junit(results)).findall(".//skipped")
        assert len(skipped) == len(results.not_run)


def test_a_deadline_before_anything_was_checked_is_exit_2() -> None:
    app = create_reference_app(":memory:", dev_tokens=True)
    try:
        results = run_suite(Target.asgi(app), TOKENS, phases=("scenarios",), max_time=1e-9)
    finally:
        app.close()
    assert results.nothing_checked
    assert results.exit_status == 2
    text = render_text(results)
    assert "[run_deadline]" in text  # what happened is still reported, as a failure entry
    # but no verdict on the server: one line says the run could not judge it
    assert "CONFORMANT" not in text
    assert "ROOT CAUSE" not in text
    assert text.count(NO_VERDICT) == 1
    assert text.rstrip("\n").endswith(NO_VERDICT.rstrip(":") + results_line(results))
    html = render_html(results)
    assert "CONFORMANT" not in html and "Root cause" not in html
    assert html.count(NO_VERDICT) == 1
    junit = ET.fromstring(render_junit(results))
    assert junit.find("testsuite[@name='root causes']") is None
    assert [f.get("type") for f in junit.iter("failure")] == ["run_deadline"]


NO_VERDICT = "NO VERDICT:"


def results_line(results: Results) -> str:
    """The rest of the no-verdict line, as the deadline in the results words it."""
    return (
        f": nothing was checked before the run's deadline of {results.max_time:g} s, so this "
        "run cannot say whether the server conforms"
    )


def test_the_command_gives_no_verdict_when_nothing_was_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Over HTTP against ``rooms-kit serve`` (127.0.0.1, port 0, stopped by its pid): exit 2, the
    reason on stderr, and on stdout one line saying the server was not judged."""
    with reference_server() as base_url:
        status = main(
            [
                "contract",
                "--url",
                base_url,
                "--token",
                "dev-alice",
                "--token",
                "dev-bob",
                "--profile",
                "smoke",
                "--max-time",
                "1e-9",
            ]
        )
    out, err = capsys.readouterr()
    assert status == 2, out + err
    assert "nothing could be checked before the deadline" in err
    assert "CONFORMANT" not in out
    assert out.count(NO_VERDICT) == 1
    assert out.splitlines()[-1] == (
        "NO VERDICT: nothing was checked before the run's deadline of 1e-09 s, so this run "
        "cannot say whether the server conforms"
    )

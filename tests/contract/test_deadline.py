"""The run's deadline stops Hypothesis and Schemathesis cleanly between examples and steps, and
the results say what was and was not checked."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from rooms_kit.contract import Target, run_suite
from rooms_kit.contract.failures import Deadline
from rooms_kit.contract.profiles import PROFILES
from rooms_kit.contract.report import render_junit, render_text
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
    assert "[run_deadline]" in render_text(results)

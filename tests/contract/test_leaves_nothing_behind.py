"""A run writes nothing into the working directory (Hypothesis' folder included), and Hypothesis'
first-use tables do not blow up the peak memory of a fresh process."""

from __future__ import annotations

from pathlib import Path

from tests.contract.peak import run_python

SCRIPT = """
from rooms_kit.contract import Target, run_suite
from rooms_kit.reference_server.app import create_reference_app
app = create_reference_app(":memory:", dev_tokens=True)
results = run_suite(Target.asgi(app), ["dev-alice", "dev-bob"], phases=("fuzz",))
app.close()
raise SystemExit(results.exit_status)
"""


def test_a_fresh_run_leaves_the_working_directory_empty(tmp_path: Path) -> None:
    status, _, err, peak = run_python(SCRIPT, cwd=tmp_path)
    assert status == 0, err[-2000:]
    assert list(tmp_path.iterdir()) == []
    # Building Hypothesis' UTF-8 table in a fresh process took the peak to about 290 MB.
    assert peak < 200 * 1024, f"peak {peak} KB"

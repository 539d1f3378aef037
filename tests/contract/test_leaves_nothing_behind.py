"""A run writes nothing into the working directory (Hypothesis' folder included), and Hypothesis'
first-use tables do not blow up the peak memory of a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
from rooms_kit.contract import Target, run_suite
from rooms_kit.reference_server.app import create_reference_app
app = create_reference_app(":memory:", dev_tokens=True)
results = run_suite(Target.asgi(app), ["dev-alice", "dev-bob"], phases=("fuzz",))
app.close()
raise SystemExit(results.exit_status)
"""


def test_a_fresh_run_leaves_the_working_directory_empty(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "generated")])
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    with process.stderr:
        err = process.stderr.read()  # the run ends on its own (smoke deadline)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    assert list(tmp_path.iterdir()) == []
    # Building Hypothesis' UTF-8 table in a fresh process took the peak to about 290 MB.
    assert usage.ru_maxrss < 200 * 1024, f"peak {usage.ru_maxrss} KB"

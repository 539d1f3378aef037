"""A run writes nothing into the working directory (Hypothesis' folder included), and Hypothesis'
first-use tables do not blow up the peak memory of a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.contract.peak_memory import peak_rss_kb, read_peak_kb

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
    work = tmp_path / "work"
    work.mkdir()
    peak = tmp_path / "peak-kb"  # outside the working directory under test
    process = subprocess.Popen(
        [*peak_rss_kb(peak), sys.executable, "-c", SCRIPT],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    with process.stderr:
        err = process.stderr.read()  # the run ends on its own (smoke deadline)
    process.wait()
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    assert list(work.iterdir()) == []
    # Building Hypothesis' UTF-8 table in a fresh process took the peak to about 290 MB.
    assert read_peak_kb(peak) < 200 * 1024, f"peak {read_peak_kb(peak)} KB"

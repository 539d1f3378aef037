"""Run a child Python and learn its own peak memory.

``wait4``'s ``ru_maxrss`` is no use here: when the child is forked from a large pytest process,
the kernel counts the pages of that copy before ``exec`` towards the child's peak. ``VmHWM`` in
``/proc/self/status`` belongs to the child's own address space, so the child prints it last.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARK = "peak-kb:"
REPORT = f"""
import atexit, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("{MARK}" + line.split()[1] + "\\n")
atexit.register(_peak)
"""


def run_python(code: str, cwd: Path | None = None) -> tuple[int, str, str, int]:
    """Exit status, stdout, stderr (without the mark) and peak resident memory in KB."""
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "generated")])
    done = subprocess.run(
        [sys.executable, "-c", REPORT + code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,  # a generous bound: the runs inside end on their own deadlines
    )
    lines = done.stderr.splitlines()
    peaks = [int(line.removeprefix(MARK)) for line in lines if line.startswith(MARK)]
    err = "\n".join(line for line in lines if not line.startswith(MARK))
    assert peaks, err[-2000:]
    return done.returncode, done.stdout, err, peaks[-1]

"""Peak memory of a child process, measured by /usr/bin/time.

``os.wait4``'s ``ru_maxrss`` is no use for a child started straight from pytest: Linux keeps a
process's high-water RSS across ``fork`` and ``execve``, so a small child of a large pytest
process reports pytest's peak. /usr/bin/time is small, and the child it starts is measured on
its own.
"""

from __future__ import annotations

from pathlib import Path

TIME = "/usr/bin/time"


def peak_rss_kb(output: Path) -> list[str]:
    """The command prefix that writes the child's peak RSS in KB to ``output``."""
    return [TIME, "-f", "%M", "-o", str(output)]


def read_peak_kb(output: Path) -> int:
    # GNU time puts "Command exited with non-zero status N" before the figure when it does.
    return int(output.read_text().split()[-1])

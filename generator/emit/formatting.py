"""Formats generated Python with the ruff pinned in pyproject.toml, ignoring project settings.

``--isolated`` keeps the output independent of whichever ``pyproject.toml`` is nearby, so the
same input gives the same bytes everywhere.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rooms_kit.errors import KitError

LINE_LENGTH = "100"


class FormattingError(KitError):
    """ruff could not format generated code (a template produced invalid Python)."""


def _ruff() -> str:
    candidate = Path(sys.executable).parent / "ruff"
    return str(candidate) if candidate.exists() else "ruff"


def _run(args: list[str], source: str, name: str) -> str:
    done = subprocess.run(
        [_ruff(), *args, "--isolated", "--line-length", LINE_LENGTH, "--stdin-filename", name, "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1) or (done.returncode == 1 and "format" in args):
        raise FormattingError(f"ruff failed on generated {name}: {done.stderr.strip()}")
    return done.stdout


def format_python(source: str, name: str) -> str:
    """Sort imports, drop unused ones, then format."""
    fixed = _run(
        [
            "check",
            "--fix",
            "--quiet",
            "--select",
            "I,F401",
            "--exit-zero",
            "--target-version",
            "py311",
        ],
        source,
        name,
    )
    return _run(["format", "--target-version", "py311"], fixed, name)

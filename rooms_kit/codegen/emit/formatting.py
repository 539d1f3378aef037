"""Formats generated Python with the ruff pinned in pyproject.toml, ignoring project settings.

``--isolated`` keeps the output independent of whichever ``pyproject.toml`` is nearby, and ruff
runs in an empty temporary folder with the import sections spelt out, because it would otherwise
guess first-party packages from the folders around the working directory. So the same input gives
the same bytes everywhere.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from rooms_kit.errors import KitError

LINE_LENGTH = "100"
FIRST_PARTY = "rooms_api"  # the generated package itself
SETTINGS = (
    "--isolated",
    "--line-length", LINE_LENGTH,
    "--target-version", "py311",
    "--config", f"lint.isort.known-first-party=['{FIRST_PARTY}']",
    "--config", "lint.isort.known-third-party=['rooms_kit']",
)  # fmt: skip


class FormattingError(KitError):
    """ruff could not format generated code (a template produced invalid Python)."""


def _ruff() -> str:
    candidate = Path(sys.executable).parent / "ruff"
    return str(candidate) if candidate.exists() else "ruff"


def _run(args: list[str], source: str, name: str) -> str:
    with tempfile.TemporaryDirectory(prefix="rooms-ruff-") as neutral:
        done = subprocess.run(
            [_ruff(), *args, *SETTINGS, "--stdin-filename", name, "-"],
            input=source,
            capture_output=True,
            text=True,
            check=False,
            cwd=neutral,
        )
    if done.returncode != 0:
        raise FormattingError(f"ruff failed on generated {name}: {done.stderr.strip()}")
    return done.stdout


def format_python(source: str, name: str) -> str:
    """Sort imports, drop unused ones, then format."""
    fixed = _run(["check", "--fix", "--quiet", "--select", "I,F401", "--exit-zero"], source, name)
    return _run(["format"], fixed, name)

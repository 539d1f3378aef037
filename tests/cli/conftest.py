from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOTDIR = Path(__file__).resolve().parents[2]
ROOMS_KIT = Path(sys.executable).parent / "rooms-kit"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def rooms_kit() -> Run:
    """Run the installed console script in a subprocess, from the project root."""

    def run(
        *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(ROOMS_KIT), *args],
            input=stdin,
            capture_output=True,
            cwd=ROOTDIR,
            env={**os.environ, **(env or {})},
            check=False,
            timeout=300,
        )
        return subprocess.CompletedProcess(
            done.args,
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )

    return run

"""One wheel built offline from this checkout, and one copy of it installed outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # seconds; a bound that catches a hang, not a performance goal


@dataclass(frozen=True)
class Installed:
    """The wheel unpacked by ``pip install --target`` into ``target``, run from ``workdir``."""

    target: Path
    workdir: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ROOMS_KIT_SCHEMAS")}
        env["PYTHONPATH"] = str(self.target)  # ahead of the checkout's editable install
        env["PYTHONNOUSERSITE"] = "1"
        env["COLUMNS"] = "1000"  # help texts on one line each, whatever the path lengths
        return env

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """``argv`` with this interpreter, the installed copy first on the path."""
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.workdir,
            env=self.env(),
            timeout=TIMEOUT,
        )

    def rooms_kit(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The ``rooms-kit`` console script that pip wrote into ``target/bin``."""
        return self.run(str(self.target / "bin" / "rooms-kit"), *args)

    def python(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, *args)

    def files(self) -> set[Path]:
        return {p for p in self.target.rglob("*") if "__pycache__" not in p.parts}


def _pip(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--no-index", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built by hatchling from the dev extra without reaching any index."""
    out = tmp_path_factory.mktemp("wheel")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(ROOT), cwd=out)
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    target = tmp_path_factory.mktemp("site")
    _pip("install", "--no-deps", "--target", str(target), str(wheel), cwd=target)
    workdir = tmp_path_factory.mktemp("elsewhere")
    assert ROOT not in workdir.parents
    return Installed(target, workdir)

"""One wheel built offline from this checkout, and one copy of it installed outside the checkout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # seconds; a bound that catches a hang, not a performance goal


@dataclass(frozen=True)
class Installed:
    """The wheel unpacked by ``pip install --target`` into ``target``, run from ``workdir``."""

    target: Path
    workdir: Path
    python_path: Path = Path(sys.executable)

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
        return self.run(str(self.python_path), *args)

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


def requirement_closure(name: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """Distribution names ``name`` needs (with ``extras``), from the installed metadata."""
    seen: set[str] = set()
    pending = [(name, extras)]
    while pending:
        current, wanted = pending.pop()
        key = re.sub(r"[-_.]+", "-", current).lower()
        if key in seen and not wanted:
            continue
        seen.add(key)
        for requirement in distribution(current).requires or []:
            spec, _, marker = requirement.partition(";")
            match = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?", spec)
            assert match is not None
            dependency = match.group(1)
            inner = frozenset(match.group(2)[1:-1].split(",")) if match.group(2) else frozenset()
            if marker.strip() and not _marker_holds(marker.strip(), wanted):
                continue
            if re.sub(r"[-_.]+", "-", dependency).lower() not in seen or inner:
                pending.append((dependency, inner))
    return seen


def _marker_holds(marker: str, extras: frozenset[str]) -> bool:
    from packaging.markers import Marker  # noqa: PLC0415 - packaging comes with the build tools

    return any(Marker(marker).evaluate({"extra": extra}) for extra in extras or {""})


@pytest.fixture(scope="session")
def base_only(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh interpreter that sees the wheel and its base requirements, and nothing else.

    The base requirements' files are copied from this environment (what pip would install for
    them, offline); the interpreter is a new virtual environment without system packages.
    """
    root = tmp_path_factory.mktemp("base-only")
    site = root / "site"
    for name in sorted(requirement_closure("games-rooms-kit") - {"games-rooms-kit"}):
        for entry in distribution(name).files or []:
            if entry.parts[0] == ".." or "__pycache__" in entry.parts:
                continue
            target = site / entry
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(entry.locate(), target)
    _pip("install", "--no-deps", "--target", str(site), str(wheel), cwd=root)
    done = subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root / "venv")],
        capture_output=True, text=True, check=False, timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    workdir = root / "elsewhere"
    workdir.mkdir()
    return Installed(site, workdir, python_path=root / "venv" / "bin" / "python")

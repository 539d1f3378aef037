"""Writes the rendered files into ``generated/`` or compares them with what is there.

Only paths inside the output folder are ever written or removed: stale files in the generated
package (left over from a renamed module) are deleted, nothing else is touched.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

IGNORED = ("__pycache__",)


@dataclass(frozen=True)
class Difference:
    """One file that differs between the rendered output and the folder."""

    path: str
    change: Literal["missing", "stale", "extra"]
    diff: str  # a unified diff for text files, empty otherwise

    def summary(self) -> str:
        what = {
            "missing": "not generated yet",
            "stale": "differs from what the schemas produce",
            "extra": "is not produced by the generator any more",
        }[self.change]
        return f"{self.path}: {what}"


def _existing(out_dir: Path, packages: set[str]) -> set[str]:
    found: set[str] = set()
    for package in packages:
        root = out_dir / package
        if root.is_dir():
            for path in root.rglob("*"):
                if path.is_file() and not any(part in IGNORED for part in path.parts):
                    found.add(path.relative_to(out_dir).as_posix())
    return found


def compare(files: dict[str, bytes], out_dir: Path, *, context_lines: int = 2) -> list[Difference]:
    """What ``write`` would change, as a sorted list (empty when ``out_dir`` is up to date)."""
    packages = {path.split("/", 1)[0] for path in files}
    differences: list[Difference] = []
    for rel, content in sorted(files.items()):
        target = out_dir / rel
        if not target.is_file():
            differences.append(Difference(rel, "missing", ""))
            continue
        current = target.read_bytes()
        if current != content:
            diff = "".join(
                difflib.unified_diff(
                    current.decode("utf-8", "replace").splitlines(keepends=True),
                    content.decode("utf-8", "replace").splitlines(keepends=True),
                    fromfile=f"generated/{rel} (on disk)",
                    tofile=f"generated/{rel} (from schemas)",
                    n=context_lines,
                )
            )
            differences.append(Difference(rel, "stale", diff))
    for rel in sorted(_existing(out_dir, packages) - set(files)):
        differences.append(Difference(rel, "extra", ""))
    return differences


def write(files: dict[str, bytes], out_dir: Path) -> list[Difference]:
    """Bring ``out_dir`` up to date; returns what changed."""
    changes = compare(files, out_dir, context_lines=0)
    for change in changes:
        target = out_dir / change.path
        if change.change == "extra":
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[change.path])
    return changes

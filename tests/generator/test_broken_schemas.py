"""Broken schemas stop the generator with a message naming the file and the JSON pointer.

Each folder in ``broken_schemas/`` holds ``patch.json`` (edits applied to a copy of the real
schemas) and ``expected.txt``, the exact message pinned (``<schemas>`` stands for the copy's path).
Set ``UPDATE_PINNED=1`` to rewrite the pinned messages after a deliberate change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.generator.support import apply_patch, copy_schemas, run_cli

CASES = Path(__file__).resolve().parent / "broken_schemas"


def cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir())


def test_there_are_cases() -> None:
    assert len(cases()) >= 8


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.name)
def test_broken_schema_is_reported_with_its_location(case: Path, tmp_path: Path) -> None:
    folder = copy_schemas(tmp_path)
    apply_patch(folder, json.loads((case / "patch.json").read_text(encoding="utf-8")))
    out_dir = tmp_path / "out"
    status, stdout, stderr = run_cli("generate", "--schemas", str(folder), "--output", str(out_dir))
    assert status == 2
    assert stdout == ""
    message = stderr.replace(str(folder), "<schemas>")
    pinned = case / "expected.txt"
    if os.environ.get("UPDATE_PINNED"):
        pinned.write_text(message, encoding="utf-8")
    assert message == pinned.read_text(encoding="utf-8")
    assert not out_dir.exists()  # nothing is written when the schemas are broken


def test_a_schema_nested_beyond_the_json_reader_is_refused(tmp_path: Path) -> None:
    """In a process of its own, so the JSON reader has its usual recursion limit (the test run's
    own may have been raised)."""
    folder = copy_schemas(tmp_path)
    (folder / "room-list.schema.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "rooms_kit", "generate", "--schemas", str(folder),
         "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"rooms-kit: error: {folder}/room-list.schema.json: nested deeper than 64 levels; "
        "no schema needs that many\n"
    )

"""Copies of the schemas folder that tests may change, and a way to run the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

from rooms_kit.cli.main import main
from rooms_kit.schemas import schemas_dir


def copy_schemas(target: Path) -> Path:
    """A private copy of the kit's schemas (examples left out) under ``target``."""
    folder = target / "schemas"
    shutil.copytree(schemas_dir(), folder, ignore=shutil.ignore_patterns("examples"))
    return folder


def set_pointer(document: Any, pointer: str, value: Any) -> None:
    """Set (or add) the value at a JSON pointer."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = document
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def apply_patch(folder: Path, patch: list[dict[str, Any]]) -> None:
    """Apply ``{"file", "text"}`` (replace a file) or ``{"file", "pointer", "value"}`` edits."""
    for edit in patch:
        path = folder / edit["file"]
        if "text" in edit:
            path.write_text(edit["text"], encoding="utf-8")
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        set_pointer(document, edit["pointer"], edit["value"])
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Run ``rooms-kit`` in-process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()

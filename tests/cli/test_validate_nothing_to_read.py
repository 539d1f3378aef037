"""An empty folder or a glob pattern that matches no file is reported like a missing file: an
error line naming it, counted as unreadable, the other paths still checked, exit 2. Before, either
stopped the run before any path was checked."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.cli.conftest import ROOTDIR, Run

GOOD = ROOTDIR / "schemas" / "examples" / "valid" / "room.json"
BAD_LINE = b'{"kind":"games#room","roomId":1}\n'


@pytest.mark.parametrize("nothing", ["empty", "nomatch_*.json", "missing.json"])
def test_a_path_with_nothing_to_read_does_not_stop_the_others(
    rooms_kit: Run, tmp_path: Path, nothing: str
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an input")  # not a .json file either
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(BAD_LINE)
    where = tmp_path / nothing
    done = rooms_kit("validate", str(GOOD), str(where), str(bad))
    assert done.returncode == 2
    reason = {
        "empty": "directory holds no .json, .ndjson or .jsonl files",
        "nomatch_*.json": "pattern matches no file",
        "missing.json": "cannot read: No such file or directory",
    }[nothing]
    assert done.stderr == f"rooms-kit: error: {where}: {reason}\n"
    *body, summary = done.stdout.splitlines()
    assert body == [f"{bad}:1: games#room /roomId: [type] got integer 1; expected string"]
    assert summary.startswith("2 documents, 1 invalid, 1 unreadable, ")


def test_each_path_with_nothing_to_read_is_named_in_its_turn(
    rooms_kit: Run, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    paths = [tmp_path / "empty", tmp_path / "no_*.ndjson", GOOD, tmp_path / "missing.json"]
    done = rooms_kit("validate", "--format", "json", *map(str, paths))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"rooms-kit: error: {paths[0]}: directory holds no .json, .ndjson or .jsonl files",
        f"rooms-kit: error: {paths[1]}: pattern matches no file",
        f"rooms-kit: error: {paths[3]}: cannot read: No such file or directory",
    ]
    (summary,) = (orjson.loads(line) for line in done.stdout.splitlines())
    assert (summary["documents"], summary["invalid"], summary["unreadable"]) == (1, 0, 3)


def test_alone_it_is_unreadable_with_an_empty_count(rooms_kit: Run, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "empty", tmp_path / "nomatch_*.json"):
        done = rooms_kit("validate", str(path))
        assert done.returncode == 2
        assert done.stdout.startswith("0 documents, 0 invalid, 1 unreadable, ")
        assert done.stderr.startswith(f"rooms-kit: error: {path}: ")


def test_help_says_so(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "--help")
    assert (
        "a folder or a glob pattern naming no file (each reported; the other paths are still"
        in (done.stdout)
    )

"""An empty folder or a glob pattern that matches no file is reported like a missing file: an
error line naming it, counted as unreadable, the other paths still checked, exit 2. Before, either
stopped the run before any path was checked. In the machine formats every unreadable path is also
on standard output: a ``read`` record (json) or an ``::error`` annotation (github)."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import orjson
import pytest

from tests.cli.conftest import ROOMS_KIT, ROOTDIR, Run

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
    *errors, summary = (orjson.loads(line) for line in done.stdout.splitlines())
    assert [(error["file"], error["keyword"], error["message"]) for error in errors] == [
        (str(paths[0]), "read", "directory holds no .json, .ndjson or .jsonl files"),
        (str(paths[1]), "read", "pattern matches no file"),
        (str(paths[3]), "read", "cannot read: No such file or directory"),
    ]
    assert (summary["documents"], summary["invalid"], summary["unreadable"]) == (1, 0, 3)


def _unreadable_inputs(tmp_path: Path) -> list[Path]:
    good = tmp_path / "a.ndjson"
    good.write_bytes(b'{"kind":"games#room"}\n')
    corrupt = tmp_path / "corrupt.json.gz"
    corrupt.write_bytes(b"garbage, not gzip")
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(BAD_LINE)
    return [good, tmp_path / "missing.json", corrupt, bad]


def test_json_has_a_record_for_each_unreadable_path_in_its_turn(
    rooms_kit: Run, tmp_path: Path
) -> None:
    good, missing, corrupt, bad = _unreadable_inputs(tmp_path)
    done = rooms_kit("validate", "--format", "json", *map(str, (good, missing, corrupt, bad)))
    assert done.returncode == 2
    records = [orjson.loads(line) for line in done.stdout.splitlines()]
    unreadable = {"line": None, "document": None, "kind": None, "pointer": None, "keyword": "read"}
    assert [record["file"] for record in records[:-1]] == [str(missing), str(corrupt), str(bad)]
    assert records[0] == {
        "type": "error",
        "file": str(missing),
        **unreadable,
        "message": "cannot read: No such file or directory",
        "value": None,
        "expected": None,
    }
    assert records[1]["message"] == "cannot read: Not a gzipped file (b'ga')"
    assert records[1].items() >= unreadable.items()
    assert records[2]["keyword"] == "type"
    assert records[3]["unreadable"] == 2
    assert done.stderr.splitlines() == [  # told to people as in the text format
        f"rooms-kit: error: {missing}: cannot read: No such file or directory",
        f"rooms-kit: error: {corrupt}: cannot read: Not a gzipped file (b'ga')",
    ]


def test_github_has_an_error_annotation_for_each_unreadable_path(
    rooms_kit: Run, tmp_path: Path
) -> None:
    _, missing, corrupt, _ = _unreadable_inputs(tmp_path)
    done = rooms_kit("validate", "--format", "github", *map(str, (missing, corrupt)))
    assert done.returncode == 2
    assert done.stdout.splitlines()[:2] == [
        f"::error file={missing}::cannot read: No such file or directory",
        f"::error file={corrupt}::cannot read: Not a gzipped file (b'ga')",
    ]
    assert done.stdout.splitlines()[2].startswith(
        "::notice title=rooms-kit validate::0 documents, 0 invalid, 2 unreadable, "
    )


def test_closed_standard_input_has_a_record_too() -> None:
    done = subprocess.run(
        ["sh", "-c", f"exec '{ROOMS_KIT}' validate --format json - <&-"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    first = orjson.loads(done.stdout.splitlines()[0])
    assert (first["file"], first["keyword"], first["message"]) == (
        "<stdin>",
        "read",
        "cannot read: standard input is closed",
    )


def test_a_folder_of_upper_case_names_is_not_empty(rooms_kit: Run, tmp_path: Path) -> None:
    folder = tmp_path / "updir"
    folder.mkdir()
    (folder / "A.JSON").write_bytes(GOOD.read_bytes())
    (folder / "B.NDJSON.GZ").write_bytes(gzip.compress(BAD_LINE))
    done = rooms_kit("validate", str(folder))
    assert done.returncode == 1, done
    assert done.stderr == ""
    *body, summary = done.stdout.splitlines()
    assert body == [
        f"{folder / 'B.NDJSON.GZ'}:1: games#room /roomId: [type] got integer 1; expected string"
    ]
    assert summary.startswith("2 documents, 1 invalid, ")

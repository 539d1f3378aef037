"""``expand`` turns folders and glob patterns into files; one that names no file stays as given,
and reading it raises the ``InputError`` that says why (the CLI reports it like a missing file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rooms_kit.validation.reading import InputError, Notices, expand, read


def test_folders_and_patterns_expand_to_their_files(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("b.ndjson", "a.json.gz", "c.txt"):
        (tmp_path / "in" / name).write_bytes(b"{}")
    assert expand([str(tmp_path / "in"), str(tmp_path / "in" / "*.ndjson"), "-"]) == [
        str(tmp_path / "in" / "a.json.gz"),
        str(tmp_path / "in" / "b.ndjson"),
        str(tmp_path / "in" / "b.ndjson"),
        "-",
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty", "directory holds no .json, .ndjson or .jsonl files"),
        ("only-text", "directory holds no .json, .ndjson or .jsonl files"),
        ("nomatch_*.json", "pattern matches no file"),
        ("in/**/*.jsonl", "pattern matches no file"),
    ],
)
def test_a_path_naming_no_file_stays_and_is_unreadable(
    tmp_path: Path, name: str, reason: str
) -> None:
    for folder in ("empty", "only-text", "in/deeper"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "only-text" / "notes.txt").write_text("x")
    (tmp_path / "in" / "deeper" / "a.json").write_text("{}")
    path = str(tmp_path / name)
    assert expand([str(tmp_path / "in"), path]) == [str(tmp_path / "in/deeper/a.json"), path]
    with pytest.raises(InputError) as raised:
        list(read(path, notices=Notices()))
    assert str(raised.value) == f"{path}: {reason}"

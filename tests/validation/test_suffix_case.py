"""File-name suffixes are read without regard to case: a folder holding ``A.JSON`` is not empty
(it was: "directory holds no .json, .ndjson or .jsonl files", exit 2, while ``A.JSON`` given by
itself was read), and an upper-case name is read as its lower-case suffix says."""

from __future__ import annotations

import gzip
from pathlib import Path

from rooms_kit.validation.reading import Notices, expand, is_ndjson, read

NAMES = ("A.JSON", "B.NDJSON.GZ", "c.Jsonl", "d.json.GZ", "e.Json.gz")


def test_a_folder_expands_to_its_inputs_whatever_the_case(tmp_path: Path) -> None:
    folder = tmp_path / "updir"
    (folder / "deeper").mkdir(parents=True)
    for name in NAMES:
        (folder / name).write_bytes(b"{}")
    (folder / "deeper" / "F.JSONL").write_bytes(b"{}")
    (folder / "notes.TXT").write_bytes(b"{}")
    (folder / "archive.GZ").write_bytes(b"{}")  # only .gz: no input suffix under it
    expected = sorted([*(str(folder / name) for name in NAMES), str(folder / "deeper/F.JSONL")])
    assert expand([str(folder)]) == expected


def test_a_pattern_that_names_a_folder_keeps_its_files(tmp_path: Path) -> None:
    """A pattern's own matches are the files it names, as a shell's would be (case as written)."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "A.JSON").write_bytes(b"{}")
    assert expand([str(tmp_path / "i*" / "*.JSON")]) == [str(tmp_path / "in" / "A.JSON")]


def test_an_upper_case_suffix_chooses_how_the_file_is_read(tmp_path: Path) -> None:
    two_lines = b'{"kind": "games#room"}\n{"kind": "games#room"}\n'
    one = tmp_path / "ONE.JSON"
    one.write_bytes(two_lines)
    with one.open("rb") as stream:
        assert not is_ndjson(str(one), stream, 1 << 20)  # a .json file is one document
    assert len(list(read(str(one), notices=Notices()))) == 1
    single = tmp_path / "SINGLE.NDJSON"
    single.write_bytes(b'{"kind": "games#room"}\n')
    with single.open("rb") as stream:
        assert is_ndjson(str(single), stream, 1 << 20)  # no second line needed to know
    packed = tmp_path / "LINES.NDJSON.GZ"
    packed.write_bytes(gzip.compress(two_lines))
    assert [record.line for record in read(str(packed), notices=Notices())] == [1, 2]

"""How ``validate`` treats a proxy recording where an option or the file's name says otherwise.

``--kind`` forces one schema on every document, but a recording's bodies are each checked
against their operation's kinds; it used to be dropped without a word. A recording named
``.json`` is read as a recording, line by line, whereas any other ``.json`` file is one
document; that too happened without a word. Each case now leaves a notice naming the file."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from tests.cli.conftest import Run
from tests.traffic.lines import LIST_EXCHANGE

LINE = LIST_EXCHANGE
BAD = {**LINE, "response": {"kind": "games#roomList", "items": "none"}}
RECORDING = b"".join(orjson.dumps(line) + b"\n" for line in (LINE, BAD, LINE))
KIND_NOTICE = (
    "--kind does not apply to a proxy recording, whose bodies are checked by their operation"
)
JSON_NOTICE = (
    "read as a proxy recording, line by line (its first line is a recording line), "
    "not as one .json document"
)


def _write(path: Path) -> Path:
    packed = path.name.lower().endswith(".gz")
    path.write_bytes(gzip.compress(RECORDING) if packed else RECORDING)
    return path


def _report(path: Path) -> list[str]:
    return [f'{path}:2: games#roomList /response/items: [type] got string "none"; expected array']


@pytest.mark.parametrize("kind", ["room", "games#played"])
def test_kind_on_a_recording_is_named_as_not_applying(
    rooms_kit: Run, tmp_path: Path, kind: str
) -> None:
    path = _write(tmp_path / "traffic.ndjson.gz")
    done = rooms_kit("validate", "--kind", kind, str(path))
    assert done.returncode == 1, done
    *body, summary = done.stdout.splitlines()
    assert body == _report(path)  # the bodies are judged by their operation, as without --kind
    assert summary.startswith("3 documents, 1 invalid, ")
    assert done.stderr == f"rooms-kit: notice: {path}: {KIND_NOTICE}\n"


def test_kind_still_applies_to_the_other_paths(rooms_kit: Run, tmp_path: Path) -> None:
    path = _write(tmp_path / "traffic.ndjson")
    played = tmp_path / "played.json"
    played.write_bytes(b'{"timeMillis": "12"}')  # no kind of its own: --kind chooses
    done = rooms_kit("validate", "--kind", "played", str(path), str(played))
    assert done.returncode == 1, done
    assert done.stdout.splitlines()[:-1] == _report(path)
    assert done.stdout.splitlines()[-1].startswith("4 documents, 1 invalid, ")
    assert done.stderr == f"rooms-kit: notice: {path}: {KIND_NOTICE}\n"


def test_without_kind_a_recording_leaves_no_notice(rooms_kit: Run, tmp_path: Path) -> None:
    path = _write(tmp_path / "traffic.ndjson")
    done = rooms_kit("validate", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[:-1] == _report(path)
    assert done.stderr == ""


@pytest.mark.parametrize("name", ["t.json", "T.JSON", "t.json.gz"])
def test_a_recording_named_json_is_read_as_a_recording_and_says_so(
    rooms_kit: Run, tmp_path: Path, name: str
) -> None:
    path = _write(tmp_path / name)
    done = rooms_kit("validate", str(path))
    assert done.returncode == 1, done
    *body, summary = done.stdout.splitlines()
    assert body == _report(path)
    assert summary.startswith("3 documents, 1 invalid, ")
    assert done.stderr == f"rooms-kit: notice: {path}: {JSON_NOTICE}\n"
    both = rooms_kit("validate", "--kind", "room", str(path))
    assert both.stdout.splitlines()[:-1] == _report(path)
    assert both.stderr == (
        f"rooms-kit: notice: {path}: {KIND_NOTICE}\nrooms-kit: notice: {path}: {JSON_NOTICE}\n"
    )


def test_a_json_file_whose_first_line_is_not_a_recording_line_is_one_document(
    rooms_kit: Run, tmp_path: Path
) -> None:
    path = tmp_path / "pretty.json"
    path.write_bytes(orjson.dumps(LINE, option=orjson.OPT_INDENT_2))  # an exchange, pretty
    done = rooms_kit("validate", str(path))
    assert done.returncode == 1
    assert "[kind] the document has no kind" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("1 document, 1 invalid, ")
    assert done.stderr == ""


def test_help_says_how_a_recording_meets_kind_and_a_json_name(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "whatever the file's name (a .json one is then read line by line, with a notice)" in text
    assert "so --kind does not apply to it" in text
    assert "a proxy recording is read line by line even when named .json" in text

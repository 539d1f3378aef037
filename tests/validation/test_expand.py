"""``expand`` turns folders and glob patterns into files; one that names no file stays as given,
and reading it raises the ``InputError`` that says why (the CLI reports it like a missing file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def test_a_folder_linked_into_itself_is_entered_once(tmp_path: Path) -> None:
    folder = tmp_path / "d2"
    (folder / "sub").mkdir(parents=True)
    (folder / "loop").symlink_to(folder)
    (folder / "sub" / "up").symlink_to(folder)
    (folder / "z.json").write_text("{}")
    (folder / "sub" / "a.json").write_text("{}")
    assert expand([str(folder / "**" / "*.json")]) == [
        str(folder / "sub" / "a.json"),
        str(folder / "z.json"),
    ]
    assert expand([str(folder)]) == [str(folder / "sub" / "a.json"), str(folder / "z.json")]


def test_a_linked_folder_outside_the_pattern_is_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.json").write_text("{}")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "link").symlink_to(tmp_path / "elsewhere")
    assert expand([str(tmp_path / "in" / "**" / "*.json")]) == [
        str(tmp_path / "in" / "link" / "a.json")
    ]


def test_a_file_given_twice_is_read_once_under_its_first_name(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "alias.json").symlink_to(tmp_path / "b.json")
    a, b, alias = (str(tmp_path / name) for name in ("a.json", "b.json", "alias.json"))
    missing = str(tmp_path / "missing.json")
    assert expand([b, a, str(tmp_path / "*.json"), alias, b, missing, missing, "-", "-"]) == [
        b,
        a,
        missing,
        missing,
        "-",
    ]


@pytest.mark.parametrize(
    "names",
    [
        ("-", "-"),
        ("-", "/dev/stdin"),
        ("/dev/stdin", "/dev/stdin"),
        ("/dev/fd/0", "-"),
        ("-", "/dev/./stdin"),  # names differ, the file does not
        ("-", "//dev/fd/0"),
        ("room.json", "-"),  # with < room.json, the same file twice
    ],
)
@pytest.mark.parametrize("redirected", [False, True])  # a pipe, or a file given with <
def test_standard_input_given_twice_is_read_once(
    tmp_path: Path, names: tuple[str, str], redirected: bool
) -> None:
    room = tmp_path / "room.json"
    room.write_text(json.dumps({"kind": "games#roomList", "items": []}), encoding="utf-8")
    command = [sys.executable, "-m", "rooms_kit.cli.main", "validate", "--format", "json", *names]
    with room.open("rb") as source:
        result = subprocess.run(
            command,
            stdin=source if redirected else None,
            input=None if redirected else room.read_bytes(),
            capture_output=True,
            check=False,
            timeout=60,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    # room.json and a pipe holding its text are two inputs; room.json and itself on < are one
    documents = 2 if "room.json" in names and not redirected else 1
    assert (summary["documents"], summary["invalid"], summary["unreadable"]) == (documents, 0, 0)


@pytest.mark.parametrize(
    "pattern",
    ["**/*.json", "**/.hidden/*.json", "in/**", "in/*/x.json", "in/**/deep/**/*.json"],
)
def test_recursive_patterns_match_as_glob_does_without_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str
) -> None:
    import glob  # noqa: PLC0415

    from rooms_kit.validation.globbing import recursive_glob  # noqa: PLC0415

    for folder in ("in/a/deep/b", "in/.hidden", ".hidden", "in/c"):
        (tmp_path / folder).mkdir(parents=True)
    for name in ("x.json", "in/x.json", "in/a/x.json", "in/a/deep/b/x.json", "in/.hidden/x.json"):
        (tmp_path / name).write_text("{}")
    (tmp_path / ".hidden" / "x.json").write_text("{}")
    (tmp_path / "in" / "c" / "x.json").write_text("{}")
    monkeypatch.chdir(tmp_path)

    def files(paths: list[str]) -> list[str]:  # glob ends a folder matched by a final ** with /
        return sorted(path for path in paths if os.path.isfile(path))

    assert files(recursive_glob(pattern)) == files(glob.glob(pattern, recursive=True))
    absolute = str(tmp_path / pattern)
    assert files(recursive_glob(absolute)) == files(glob.glob(absolute, recursive=True))

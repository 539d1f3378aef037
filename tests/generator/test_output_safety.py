"""Hostile output folders: ``generate`` never follows a link, never deletes a file it did not
write, never blocks on a FIFO and never reads a huge file whole.

Each case gets the exact refusal it must get, and the files around it are left as they were.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from rooms_kit.codegen import generate
from rooms_kit.codegen.emit import compare, write
from rooms_kit.codegen.emit.writer import DIFF_SLACK_BYTES, UnsafeOutput
from tests.generator.support import run_cli


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return generate()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _package_links_elsewhere(out: Path, victim: Path) -> None:
    out.mkdir()
    (out / "rooms_api").symlink_to(victim, target_is_directory=True)


def _module_links_elsewhere(out: Path, victim: Path) -> None:
    (out / "rooms_api").mkdir(parents=True)
    (out / "rooms_api" / "models.py").symlink_to(victim / "precious.txt")


def _subfolder_links_elsewhere(out: Path, victim: Path) -> None:
    (out / "rooms_api").mkdir(parents=True)
    (out / "rooms_api" / "old").symlink_to(victim, target_is_directory=True)


def _foreign_file_in_package(out: Path, victim: Path) -> None:
    (out / "rooms_api").mkdir(parents=True)
    (out / "rooms_api" / "handwritten.py").write_text("def mine(): ...\n")


def _fifo_in_place_of_a_module(out: Path, victim: Path) -> None:
    (out / "rooms_api").mkdir(parents=True)
    os.mkfifo(out / "rooms_api" / "models.py")


def _folder_in_place_of_a_module(out: Path, victim: Path) -> None:
    (out / "rooms_api" / "models.py").mkdir(parents=True)


def _file_in_place_of_the_package(out: Path, victim: Path) -> None:
    out.mkdir()
    (out / "rooms_api").write_text("not a folder\n")


# (set-up, path the refusal names relative to the output folder, words it must contain)
HOSTILE: dict[str, tuple[Callable[[Path, Path], None], str, str]] = {
    "package is a link": (_package_links_elsewhere, "rooms_api", "is a symbolic link"),
    "module is a link": (_module_links_elsewhere, "rooms_api/models.py", "is a symbolic link"),
    "sub-folder is a link": (_subfolder_links_elsewhere, "rooms_api/old", "is a symbolic link"),
    "foreign file": (
        _foreign_file_in_package,
        "rooms_api/handwritten.py",
        "is not a file the generator wrote",
    ),
    "FIFO": (_fifo_in_place_of_a_module, "rooms_api/models.py", "is not a regular file"),
    "folder for a module": (
        _folder_in_place_of_a_module,
        "rooms_api/models.py",
        "should be a regular file",
    ),
    "file for the package": (
        _file_in_place_of_the_package,
        "rooms_api",
        "should be a folder but is not",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_output_is_refused_and_nothing_changes(
    case: str, rendered: dict[str, bytes], tmp_path: Path
) -> None:
    set_up, named, words = HOSTILE[case]
    victim = tmp_path / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "precious.txt").write_text("precious\n")
    (victim / "sub" / "notes.md").write_text("notes\n")
    out = tmp_path / "out"
    set_up(out, victim)
    before_victim, before_out = _snapshot(victim), _snapshot(out)
    for action in (compare, write):
        with pytest.raises(UnsafeOutput) as raised:
            action(rendered, out)
        message = str(raised.value)
        assert message.startswith(f"{out / named}: {words}"), message
        assert "nothing was changed" in message
    assert _snapshot(victim) == before_victim
    assert _snapshot(out) == before_out


def test_the_command_refuses_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("precious\n")
    out = tmp_path / "out"
    _package_links_elsewhere(out, victim)
    for argv in (("generate", "--output", str(out)), ("generate", "--check", "--output", str(out))):
        status, stdout, stderr = run_cli(*argv)
        assert (status, stdout) == (2, "")
        assert stderr.startswith(f"rooms-kit: error: {out / 'rooms_api'}: is a symbolic link")
        assert "Traceback" not in stderr
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]


def test_stale_files_the_generator_wrote_are_still_removed(
    rendered: dict[str, bytes], tmp_path: Path
) -> None:
    package = tmp_path / "rooms_api"
    package.mkdir()
    (package / "renamed.py").write_bytes(rendered["rooms_api/models.py"])  # a generated module
    (package / "empty.py").write_bytes(b"")
    changes = {c.path: c.change for c in write(rendered, tmp_path)}
    assert changes["rooms_api/renamed.py"] == changes["rooms_api/empty.py"] == "extra"
    assert not (package / "renamed.py").exists() and not (package / "empty.py").exists()
    assert compare(rendered, tmp_path) == []


def test_a_huge_file_on_disk_is_stale_without_being_read(
    rendered: dict[str, bytes], tmp_path: Path
) -> None:
    write(rendered, tmp_path)
    huge = tmp_path / "rooms_api" / "openapi.json"
    size = 64 * 1024**2  # sparse: takes no room on disk
    with huge.open("r+b") as stream:
        stream.truncate(size)
    (difference,) = compare(rendered, tmp_path)
    assert (difference.path, difference.change) == ("rooms_api/openapi.json", "stale")
    generated = len(rendered["rooms_api/openapi.json"])
    assert difference.diff == f"(not diffed: {size} bytes on disk, {generated} generated)\n"
    assert size > generated + DIFF_SLACK_BYTES
    write(rendered, tmp_path)
    assert huge.read_bytes() == rendered["rooms_api/openapi.json"]

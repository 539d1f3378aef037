"""The installed wheel, run from a folder outside the checkout, as a user would run it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.packaging.conftest import ROOT, Installed


def test_version_from_the_script_and_from_python_m(installed: Installed) -> None:
    script = installed.rooms_kit("--version")
    module = installed.python("-m", "rooms_kit", "--version")
    assert (script.returncode, module.returncode) == (0, 0)
    assert script.stdout == module.stdout == "rooms-kit 0.1.0\n"


def test_the_kit_is_imported_from_the_installed_copy(installed: Installed) -> None:
    done = installed.python(
        "-c", "import rooms_kit, rooms_api; print(rooms_kit.__file__); print(rooms_api.__file__)"
    )
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        assert Path(line).is_relative_to(installed.target), line


def test_generate_without_output_refuses_and_writes_nothing(installed: Installed) -> None:
    before = installed.files()
    for check in ((), ("--check",)):
        done = installed.rooms_kit("generate", *check)
        assert done.returncode == 2
        assert "--output DIR is required" in done.stderr
        assert "Traceback" not in done.stderr
        assert "make generate" not in done.stderr
    assert installed.files() == before
    assert list(installed.workdir.iterdir()) == []


def test_generate_refuses_the_folder_it_is_installed_in(installed: Installed) -> None:
    done = installed.rooms_kit("generate", "--output", str(installed.target))
    assert done.returncode == 2
    assert f"refusing to write inside {installed.target.resolve()}" in done.stderr


def test_generate_with_output_writes_the_same_package(installed: Installed, tmp_path: Path) -> None:
    # a user's own module named like the old top-level package must not get in the way
    (installed.workdir / "generator.py").write_text("raise SystemExit('shadowed')\n")
    out = tmp_path / "out"
    try:
        done = installed.python("-m", "rooms_kit", "generate", "--output", str(out))
    finally:
        (installed.workdir / "generator.py").unlink()
    assert done.returncode == 0, done.stderr
    for path in (ROOT / "generated" / "rooms_api").iterdir():
        if path.is_file():
            assert (out / "rooms_api" / path.name).read_bytes() == path.read_bytes(), path.name
    check = installed.rooms_kit("generate", "--check", "--output", str(out))
    assert check.returncode == 0 and "up to date" in check.stdout
    (out / "rooms_api" / "models.py").write_text("")
    stale = installed.rooms_kit("generate", "--check", "--output", str(out))
    assert stale.returncode == 1
    assert stale.stderr.splitlines()[-1] == (
        f"run `rooms-kit generate --output {out}` to bring it up to date"
    )
    assert "run `make generate`" not in stale.stderr


def test_validate_uses_the_bundled_schemas(installed: Installed, tmp_path: Path) -> None:
    good = tmp_path / "room.json"
    shutil.copy(ROOT / "schemas" / "examples" / "valid" / "room.json", good)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "games#room", "roomStatusVersion": 1.5}))
    assert installed.rooms_kit("validate", str(good)).returncode == 0
    done = installed.rooms_kit("validate", str(bad))
    assert done.returncode == 1
    assert "roomStatusVersion" in done.stdout + done.stderr


def test_help_points_at_documents_that_exist(installed: Installed) -> None:
    done = installed.rooms_kit("serve", "--help")
    assert done.returncode == 0
    path = installed.target / "rooms_kit" / "_bundled" / "docs" / "room-lifecycle.md"
    assert path.is_file()
    assert f"({path})" in done.stdout

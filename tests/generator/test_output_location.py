"""Where ``rooms-kit generate`` may write: the checkout's generated/, or --output, never site-packages."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from rooms_kit.codegen import output
from tests.generator.support import run_cli


def test_a_checkout_defaults_to_its_generated_folder() -> None:
    assert output.in_checkout()
    assert output.resolve_output(None) == output.CHECKOUT_OUTPUT_DIR
    assert "make generate" in output.regenerate_hint(None)
    status, stdout, _ = run_cli("generate", "--check")
    assert status == 0
    assert f"{output.CHECKOUT_OUTPUT_DIR}: up to date" in stdout


def test_an_installed_kit_requires_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "in_checkout", lambda: False)
    status, stdout, stderr = run_cli("generate")
    assert (status, stdout) == (2, "")
    assert "--output DIR is required" in stderr
    assert "installed package" in stderr
    assert "Traceback" not in stderr
    hint = output.regenerate_hint(None)
    assert "make" not in hint and "rooms-kit generate --output DIR" in hint


@pytest.mark.parametrize("key", ["purelib", "platlib"])
def test_package_folders_are_refused(key: str) -> None:
    folder = Path(sysconfig.get_path(key))
    target = folder / "rooms-kit-must-not-write-here"
    status, _, stderr = run_cli("generate", "--output", str(target))
    assert status == 2
    assert "refusing to write inside" in stderr and "installed Python packages" in stderr
    assert not target.exists()


def test_an_installed_kit_refuses_its_own_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(output, "in_checkout", lambda: False)
    kit_folder = output.CHECKOUT_ROOT  # where rooms_kit was imported from
    target = kit_folder / "not-here"
    status, _, stderr = run_cli("generate", "--output", str(target))
    assert status == 2 and "refusing to write inside" in stderr
    assert not target.exists()
    assert output.resolve_output(tmp_path / "out") == (tmp_path / "out").resolve()


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


# Hostile --output values: each refused with exit 2 and its own message, nothing written.
HOSTILE_OUTPUTS = {
    "a-file": ("notes.txt", "is a file, not a folder"),
    "below-a-file": ("notes.txt/deeper/out", "notes.txt is a file, not a folder"),
    "package-name-taken-by-a-file": ("taken", "rooms_api: should be a folder but is not"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_OUTPUTS))
def test_hostile_outputs_are_refused_cleanly(case: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "rooms_api").write_text("mine too")
    before = _tree(tmp_path)
    relative, message = HOSTILE_OUTPUTS[case]
    status, stdout, stderr = run_cli("generate", "--output", str(tmp_path / relative))
    assert status == 2, stderr
    assert message in stderr and "Traceback" not in stderr
    assert _tree(tmp_path) == before
    assert stdout == ""
    healthy = tmp_path / "healthy"
    assert run_cli("generate", "--output", str(healthy))[0] == 0
    assert (healthy / "rooms_api" / "client.py").is_file()


def test_writing_says_what_it_did_to_each_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    status, first, _ = run_cli("generate", "--output", str(out))
    assert status == 0
    listed = [line.split() for line in first.splitlines() if line.startswith("  ")]
    assert listed and {verb for verb, _ in listed} == {"created"}
    assert ["created", "rooms_api/client.py"] in listed
    (out / "rooms_api" / "client.py").write_text("# edited by hand\n")
    (out / "rooms_api" / "leftover.py").write_text("")
    status, second, _ = run_cli("generate", "--output", str(out))
    assert status == 0
    assert second.splitlines()[:2] == [
        "  updated rooms_api/client.py",
        "  removed rooms_api/leftover.py",
    ]
    assert f"{out.resolve()}: 2 files changed" in second

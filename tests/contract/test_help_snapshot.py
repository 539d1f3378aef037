"""``rooms-kit contract --help`` is what users read first; it is pinned.

Regenerate after an intended change: ROOMS_KIT_UPDATE_SNAPSHOTS=1 pytest tests/contract
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rooms_kit.cli.main import main

SNAPSHOT = Path(__file__).parent / "snapshots" / "contract-help.txt"


def test_contract_help_is_pinned(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_info:
        main(["contract", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    if os.environ.get("ROOMS_KIT_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8")


def test_help_names_the_default_seed() -> None:
    from rooms_kit.cli.cmd_contract import DEFAULT_SEED_TEXT  # noqa: PLC0415
    from rooms_kit.contract import DEFAULT_SEED  # noqa: PLC0415

    assert DEFAULT_SEED_TEXT == str(DEFAULT_SEED)


def test_help_names_the_default_bounds(capsys: pytest.CaptureFixture[str]) -> None:
    from rooms_kit.cli import cmd_contract  # noqa: PLC0415
    from rooms_kit.contract import bounded  # noqa: PLC0415
    from rooms_kit.contract.profiles import PROFILES  # noqa: PLC0415

    assert cmd_contract.DEFAULT_REQUEST_TIMEOUT == bounded.DEFAULT_REQUEST_TIMEOUT
    assert cmd_contract.DEFAULT_MAX_RESPONSE_BYTES == bounded.DEFAULT_MAX_RESPONSE_BYTES
    with pytest.raises(SystemExit):
        main(["contract", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name, profile in PROFILES.items():
        assert (
            f"{profile.max_time:g} for {name}" in text
            or f"{profile.max_time:g} s for {name}" in text
        )

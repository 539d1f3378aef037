"""``contract_tests/schemathesis.toml`` and the settings built into the suite say the same."""

from __future__ import annotations

import tomllib
from pathlib import Path

from rooms_kit.contract.generation import SCHEMATHESIS_CONFIG, load_schema

TOML = Path(__file__).resolve().parents[2] / "contract_tests" / "schemathesis.toml"


def test_toml_matches_built_in_settings() -> None:
    assert tomllib.loads(TOML.read_text(encoding="utf-8")) == SCHEMATHESIS_CONFIG


def test_schemathesis_reads_the_toml() -> None:
    schema = load_schema(TOML)
    assert schema.find_operation_by_id("games.rooms.create").method.upper() == "POST"

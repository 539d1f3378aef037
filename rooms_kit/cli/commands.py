"""The list of sub-command modules; add one line per new ``cmd_*`` module."""

from __future__ import annotations

from types import ModuleType

from rooms_kit.cli import (
    cmd_contract,
    cmd_db,
    cmd_generate,
    cmd_proxy,
    cmd_replay,
    cmd_schemas,
    cmd_serve,
    cmd_validate,
)

MODULES: tuple[ModuleType, ...] = (
    cmd_schemas,
    cmd_validate,
    cmd_generate,
    cmd_serve,
    cmd_db,
    cmd_contract,
    cmd_proxy,
    cmd_replay,
)

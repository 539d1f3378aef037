"""Every check name the traffic tools raise is one the suite's registry declares."""

from __future__ import annotations

import re
from pathlib import Path

from rooms_kit.contract.registry import CHECKS, names
from rooms_kit.traffic import checking, lifecycle

TRAFFIC = Path(checking.__file__).parent


def _raised_names() -> set[str]:
    found: set[str] = set()
    for path in TRAFFIC.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'ContractFailure\(\s*"([a-z_]+)"', text))
    # the names of bounds, kept as constants in the glue module
    glue = Path(checking.__file__).read_text(encoding="utf-8")
    found |= {value for _, value in re.findall(r'^([A-Z_]+) = "([a-z_]+)"$', glue, re.MULTILINE)}
    return found | set(lifecycle.HIDES.values())


def test_names_come_from_the_registry() -> None:
    raised = _raised_names()
    assert {"status_version_monotonic", "responds_in_time", "room_id_matches"} <= raised
    assert raised <= set(CHECKS), raised - set(CHECKS)


def test_checks_only_traffic_can_show_are_declared_as_traffic() -> None:
    """The suite never raises a ``traffic`` check, so the proxy is the only place it comes from."""
    assert names("traffic") == ["room_id_matches"]
    assert CHECKS["room_id_matches"].promise

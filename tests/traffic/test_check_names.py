"""Every check name the traffic tools raise is one the suite's registry declares (one exception)."""

from __future__ import annotations

import re
from pathlib import Path

from rooms_kit.contract.registry import CHECKS
from rooms_kit.traffic import checking, lifecycle

TRAFFIC = Path(checking.__file__).parent
# Only traffic can see this one: an answer about another room than the path names.
PROXY_ONLY = {"room_id_matches"}


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
    names = _raised_names()
    assert {"status_version_monotonic", "responds_in_time", "room_id_matches"} <= names
    assert names - PROXY_ONLY <= set(CHECKS), names - PROXY_ONLY - set(CHECKS)
    assert not PROXY_ONLY & set(CHECKS)

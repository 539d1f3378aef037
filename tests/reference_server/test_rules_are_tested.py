"""Every rule tagged in docs/room-lifecycle.md is named by a test here, and no test names a rule
the document lacks."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parents[1] / "docs" / "room-lifecycle.md"
TAG = re.compile(r"R-[a-z]+-[0-9]+")


def test_every_documented_rule_has_a_test_and_back() -> None:
    documented = set(TAG.findall(DOC.read_text(encoding="utf-8")))
    named: set[str] = set()
    for path in HERE.glob("test_*.py"):
        if path.name != Path(__file__).name:
            named |= set(TAG.findall(path.read_text(encoding="utf-8")))
    assert len(documented) >= 40
    assert sorted(documented - named) == []
    assert sorted(named - documented) == []

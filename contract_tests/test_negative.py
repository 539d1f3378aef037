"""The contract suite's negative units, one test each (the engine is rooms_kit.contract)."""

from __future__ import annotations

import pytest
from conftest import check_unit

from rooms_kit.contract.context import SuiteContext
from rooms_kit.contract.units import Unit


@pytest.mark.contract_phase("negative")
def test_negative(suite: SuiteContext, unit: Unit) -> None:
    check_unit(suite, unit)

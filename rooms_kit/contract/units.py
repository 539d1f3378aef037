"""A unit of a run: one scenario, one group of negative requests, one fuzzed operation or the
stateful walks; ``runner`` plans and runs them, the phases' modules build them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rooms_kit.contract.context import SuiteContext


@dataclass(frozen=True)
class Unit:
    name: str
    phase: str
    operation: str
    check: str | None  # the behaviour check it reports a pass for, when it passes
    run: Callable[[SuiteContext], None]

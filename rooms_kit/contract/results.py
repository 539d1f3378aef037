"""What a run found: pass/fail counts per operation and check, and each distinct failure in full."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.http import Exchange

SCENARIO = "(scenario)"


@dataclass
class FailureRecord:
    """One distinct failure (check, operation, title), the first exchange that showed it."""

    check: str
    operation: str
    title: str
    message: str
    unit: str
    exchange: Exchange | None
    occurrences: int = 1


@dataclass
class UnitResult:
    """One test unit (a scenario, a group of negative requests, a fuzzed operation)."""

    name: str
    phase: str
    seconds: float = 0.0
    failures: list[FailureRecord] = field(default_factory=list)
    error: str | None = None  # the unit itself could not finish (not a contract failure)


@dataclass
class Results:
    seed: int
    profile: str
    target: str
    passed: Counter[tuple[str, str]] = field(default_factory=Counter)
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[FailureRecord] = field(default_factory=list)
    units: list[UnitResult] = field(default_factory=list)
    _index: dict[tuple[str, str, str], FailureRecord] = field(default_factory=dict)

    def record_pass(self, check: str, operation: str) -> None:
        self.passed[(operation, check)] += 1

    def record_failure(
        self, failure: ContractFailure, operation: str, unit: UnitResult, exchange: Exchange | None
    ) -> None:
        self.failed[(operation, failure.check)] += 1
        key = (failure.check, operation, failure.title)
        existing = self._index.get(key)
        if existing is not None:
            existing.occurrences += 1
            if existing not in unit.failures:
                unit.failures.append(existing)
            return
        record = FailureRecord(
            failure.check,
            operation,
            failure.title,
            failure.message,
            unit.name,
            failure.exchange or exchange,
        )
        self._index[key] = record
        self.failures.append(record)
        unit.failures.append(record)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failed_checks(self) -> set[str]:
        return {record.check for record in self.failures}

    def checks(self) -> list[str]:
        return sorted({check for _, check in self.passed} | {check for _, check in self.failed})

    def operations(self) -> list[str]:
        return sorted({op for op, _ in self.passed} | {op for op, _ in self.failed})

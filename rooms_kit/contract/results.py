"""What a run found: pass/fail counts per operation and check, each distinct failure in full,
latency per operation, and whether the deadline cut the run short.

Evidence is bounded: a kept exchange carries at most ``bounded.KEPT_PARTIAL_BYTES`` of each body,
and after ``MAX_RECORDS`` distinct failures further ones are only counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.http import Exchange

SCENARIO = "(scenario)"
RUN = "(run)"
MAX_RECORDS = 500


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
    latency: dict[str, list[float]] = field(default_factory=dict)  # seconds, per operation
    slowest: dict[str, tuple[float, str]] = field(default_factory=dict)  # seconds, curl
    max_time: float | None = None  # the run's deadline in seconds
    not_run: list[str] = field(default_factory=list)  # units the deadline left out
    uncounted: int = 0  # distinct failures beyond MAX_RECORDS
    _index: dict[tuple[str, str, str], FailureRecord] = field(default_factory=dict)

    def record_latency(self, operation: str, seconds: float, curl: Callable[[], str]) -> None:
        self.latency.setdefault(operation, []).append(seconds)
        slowest = self.slowest.get(operation)
        if slowest is None or seconds > slowest[0]:
            self.slowest[operation] = (seconds, curl())

    @property
    def checked(self) -> int:
        return sum(self.passed.values()) + sum(self.failed.values())

    @property
    def nothing_checked(self) -> bool:
        """No check was made at all (the deadline alone does not count)."""
        return self.checked - self.failed[(RUN, "run_deadline")] == 0

    @property
    def cut_short(self) -> bool:
        return "run_deadline" in self.failed_checks

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
        if len(self.failures) >= MAX_RECORDS:
            self.uncounted += 1
            return
        evidence = failure.exchange or exchange
        record = FailureRecord(
            failure.check,
            operation,
            failure.title,
            failure.message,
            unit.name,
            None if evidence is None else evidence.kept(),
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

"""What a run found: pass/fail counts per operation and check, each distinct failure in full,
latency per operation, and whether the deadline cut the run short.

Evidence is bounded: a kept exchange carries at most ``bounded.KEPT_PARTIAL_BYTES`` of each body,
and after ``MAX_RECORDS`` distinct failures further ones are only counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from rooms_kit.contract.failures import ContractFailure, clip
from rooms_kit.contract.http import Exchange
from rooms_kit.contract.secrets import Secrets

SCENARIO = "(scenario)"
RUN = "(run)"
MAX_RECORDS = 500


@dataclass
class FailureRecord:
    """One distinct failure: a check, an operation and a stable code (the pointer pattern and
    rule of a finding, else the title), with the first exchange that showed it."""

    check: str
    operation: str
    title: str
    message: str
    unit: str
    exchange: Exchange | None
    occurrences: int = 1
    code: str = ""
    place: str = ""  # the field in the document's terms, for findings in a body


@dataclass
class RootCause:
    """What several failures have in common: the same field (whatever check or operation saw
    it), or else the same check and code seen on several operations."""

    title: str
    records: list[FailureRecord]

    @property
    def checks(self) -> list[str]:
        return sorted({record.check for record in self.records})

    @property
    def operations(self) -> list[str]:
        return sorted({record.operation for record in self.records})

    @property
    def fields(self) -> list[str]:
        return sorted({record.code.split(" ", 1)[0] for record in self.records if record.place})

    @property
    def occurrences(self) -> int:
        return sum(record.occurrences for record in self.records)

    @property
    def exchange(self) -> Exchange | None:
        return next((r.exchange for r in self.records if r.exchange is not None), None)

    @property
    def detail(self) -> str:
        """The first failure's details, for a root cause of one check (a field's is in its title)."""
        first = self.records[0]
        return "" if first.place or len(self.checks) > 1 else first.message


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
    secrets: Secrets = field(default_factory=Secrets, repr=False)  # what no report may show
    _index: dict[tuple[str, str, str], FailureRecord] = field(default_factory=dict)

    def root_causes(self) -> list[RootCause]:
        """Distinct failures grouped by field (``place``); failures on a 5xx answer by that status
        (whatever else failed there, the server error explains it); the rest by check and code.
        In the order they were first seen."""
        groups: dict[tuple[str, ...], RootCause] = {}
        for record in self.failures:
            status = record.exchange.response.status if record.exchange is not None else 0
            if record.place:
                key: tuple[str, ...] = ("place", record.place)
                title = f"{record.place}: {record.title.split(': ', 1)[-1]}"
            elif 500 <= status <= 599:
                key = ("status", str(status))
                title = f"server error {status} (a 5xx answer, whatever the request)"
            else:
                key = ("check", record.check, record.code)
                title = f"[{record.check}] {record.title}"
            group = groups.get(key)
            if group is None:
                groups[key] = RootCause(title, [record])
            else:
                group.records.append(record)
        return list(groups.values())

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
    def exit_status(self) -> int:
        """0 conformant, 1 failures (a run stopped by its deadline included), 2 nothing checked."""
        if self.nothing_checked:
            return 2
        return 0 if self.ok else 1

    @property
    def cut_short(self) -> bool:
        return "run_deadline" in self.failed_checks

    def record_pass(self, check: str, operation: str) -> None:
        self.passed[(operation, check)] += 1

    def record_failure(
        self, failure: ContractFailure, operation: str, unit: UnitResult, exchange: Exchange | None
    ) -> None:
        """Count the failure; keep it once per (check, operation, code), each finding apart."""
        self.failed[(operation, failure.check)] += 1
        evidence = failure.exchange or exchange
        if not failure.findings:
            self._keep(
                failure.check,
                operation,
                failure.title,
                failure.message,
                "",
                unit,
                evidence,
                failure.code,
            )
            return
        for finding in failure.findings:
            title = f"{finding.pointer}: {finding.text}"
            code = f"{finding.pointer} {finding.keyword}"
            self._keep(
                failure.check,
                operation,
                title,
                failure.message,
                finding.place,
                unit,
                evidence,
                code,
            )

    def _keep(
        self,
        check: str,
        operation: str,
        title: str,
        message: str,
        place: str,
        unit: UnitResult,
        evidence: Exchange | None,
        code: str = "",
    ) -> None:
        key = (check, operation, code or title)
        existing = self._index.get(key)
        if existing is not None:
            existing.occurrences += 1
            if existing not in unit.failures:
                unit.failures.append(existing)
            return
        if len(self.failures) >= MAX_RECORDS:
            self.uncounted += 1
            return
        record = FailureRecord(
            check,
            operation,
            title,
            clip(message),
            unit.name,
            None if evidence is None else evidence.kept(),
            code=code or title,
            place=place,
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

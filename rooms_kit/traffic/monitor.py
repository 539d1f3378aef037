"""Judges each proxied exchange, prints every violation as it happens and keeps the totals.

A violation line has the shape of ``rooms-kit validate``'s text output: where it was seen (the
proxy and the exchange number, which the recording keeps as ``n``), the operation and the request,
then ``[check] title: details``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from rooms_kit.contract.failures import ContractFailure, clip
from rooms_kit.contract.http import Exchange
from rooms_kit.contract.report.table import short
from rooms_kit.contract.results import Results, UnitResult
from rooms_kit.traffic.aliases import Aliases
from rooms_kit.traffic.checking import Judge, exchange
from rooms_kit.traffic.operations import Route, Router
from rooms_kit.traffic.seen import Seen

# control characters written as escapes, so that a violation is always one line: a server's body
# or ids quoted in it could otherwise start lines of their own (forged "proxy:N:" lines)
ONE_LINE = {code: f"\\x{code:02x}" for code in [*range(32), 0x7F]} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
OUTSIDE = "(outside the API)"
EXCHANGES = "exchanges"
LIFECYCLE = "lifecycle"
LABEL = "proxy"


def named(operation: str | None, method: str, target: str) -> str:
    """How the proxy's lines name an exchange: its operation (short), method and target, as in
    ``get GET /games/v1/rooms/r1``; without an operation (none known), method and target."""
    return f"{short(operation)} {method} {target}" if operation else f"{method} {target}"


class Sink(Protocol):
    """Where exchanges go after judging (the recorder)."""

    def write(self, seen: Seen, route: Route | None) -> None: ...


class Rules(Protocol):
    """Rules over exchanges beyond the response checks (``inputs``, ``lifecycle``)."""

    def observe(self, seen: Seen, route: Route, data: Exchange) -> list[ContractFailure]: ...

    def applied(self, seen: Seen, route: Route) -> tuple[str, ...]:
        """The rules ``observe`` judged this exchange by (each passed unless it failed)."""
        ...


@dataclass
class Monitor:
    judge: Judge
    aliases: Aliases
    upstream: str
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    sink: Sink | None = None
    rules: list[Rules] = field(default_factory=list)
    results: Results = field(init=False)
    exchanges: int = 0
    checked: int = 0
    violations: int = 0
    defects: int = 0  # exchanges the kit failed to judge (each said on ``err``)
    unjudged: int = 0  # exchanges let through unjudged past --max-held-bytes (each said on ``err``)
    cut_at_stop: int = 0  # exchanges the stop's grace ended before their answer (each said too)
    _units: dict[tuple[str, str], UnitResult] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.router = Router(self.judge.openapi)
        self.results = Results(seed=0, profile="proxy", target=self.upstream)

    def unit(self, phase: str, name: str) -> UnitResult:
        key = (phase, name)
        if key not in self._units:
            self._units[key] = UnitResult(name, phase)
            self.results.units.append(self._units[key])
        return self._units[key]

    def inspect(self, seen: Seen) -> list[ContractFailure]:
        """Every violation of one exchange (already printed and counted)."""
        self.exchanges += 1
        route = self.router.match(seen.method, seen.path)
        found: list[tuple[str, ContractFailure]] = []
        operation = route.operation if route else OUTSIDE
        data = exchange(
            operation,
            seen.method,
            self.upstream + seen.target,  # so that the report's curl line runs as it is
            seen.request_headers,
            seen.request_body,
            seen.status,
            seen.response_headers,
            seen.response_body,
            seen.reading,
        )
        if seen.problem is not None:
            found.append((EXCHANGES, seen.problem))
        elif seen.unjudged:
            if seen.cut_at_stop:
                self.cut_at_stop += 1
            else:
                self.unjudged += 1
            print(
                f"rooms-kit proxy: exchange {seen.number} "
                f"({named(operation, seen.method, self.aliases.scrub(seen.target))}) went "
                f"through neither checked nor recorded: {seen.unjudged}",
                file=self.err,
                flush=True,
            )
        elif route is not None:
            self.checked += 1
            try:
                self._judge(seen, route, operation, data, found)
            except Exception as exc:  # a defect of the kit: said, and the exchange goes on
                self.defects += 1
                print(
                    f"rooms-kit proxy: exchange {seen.number} could not be judged, a defect of "
                    f"rooms-kit (please report it): {type(exc).__name__}: {clip(str(exc), 200)}",
                    file=self.err,
                    flush=True,
                )
        for phase, failure in found:
            unit = self.unit(phase, operation if phase == EXCHANGES else failure.check)
            self.results.record_failure(failure, operation, unit, failure.exchange or data)
            self.violations += 1
            self.out.write(self.aliases.scrub(self.line(seen, operation, failure)) + "\n")
        if found:
            self.out.flush()
        if self.sink is not None and not seen.unjudged:
            self.sink.write(seen, route)
        seen.forget_reading()  # the reports may keep the exchange, never its parsed body
        return [failure for _, failure in found]

    def name(self, seen: Seen) -> str:
        """``named`` for an exchange, its credentials replaced by their aliases, for lines said
        beside the judging (the route is found anew: the judging thread may be using the
        router's memory meanwhile)."""
        route = self.router.find(seen.method, seen.path)
        operation = route.operation if route else OUTSIDE
        return named(operation, seen.method, self.aliases.scrub(seen.target))

    def _judge(
        self,
        seen: Seen,
        route: Route,
        operation: str,
        data: Exchange,
        found: list[tuple[str, ContractFailure]],
    ) -> None:
        """The checks and the rules on one exchange of the API; each failure added to ``found``."""
        for name, failure in self.judge.run(data):
            if failure is None:
                self.results.record_pass(name, operation)
            else:
                found.append((EXCHANGES, failure))
        for rules in self.rules:
            failures = rules.observe(seen, route, data)
            found += [(LIFECYCLE, failure) for failure in failures]
            failed = {failure.check for failure in failures}
            for name in rules.applied(seen, route):
                if name not in failed:
                    self.results.record_pass(name, operation)

    @staticmethod
    def line(seen: Seen, operation: str, failure: ContractFailure) -> str:
        details = f": {clip(failure.message)}" if failure.message else ""
        line = (
            f"{LABEL}:{seen.number}: {named(operation, seen.method, seen.target)}: "
            f"[{failure.check}] {failure.title}{details}"
        )
        return line.translate(ONE_LINE)

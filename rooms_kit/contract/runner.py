"""Runs the suite: setup (player discovery), negative requests, scenarios, then fuzzing.

``plan(profile)`` lists the units; ``run_suite`` runs them all and returns the ``Results``;
``open_run`` / ``run_unit`` let a pytest entry run one unit per test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rooms_kit.contract import negative, scenarios
from rooms_kit.contract.checks import CheckContext
from rooms_kit.contract.context import Player, SuiteContext, discover_players
from rooms_kit.contract.failures import CannotRun, ContractFailure
from rooms_kit.contract.http import HttpSession, Target
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.contract.profiles import PROFILES, Profile
from rooms_kit.contract.results import SCENARIO, Results, UnitResult

DEFAULT_SEED = 20_200_331  # fixed so that runs repeat; any integer works with --seed
PHASES = ("negative", "scenarios", "fuzz", "stateful")


@dataclass(frozen=True)
class Unit:
    name: str
    phase: str
    operation: str
    check: str | None  # the behaviour check it reports a pass for, when it passes
    run: Callable[[SuiteContext], None]


def plan(profile: Profile) -> list[Unit]:
    units = [
        Unit("negative: bad parameters", "negative", SCENARIO, None, negative.bad_parameters),
        Unit("negative: bad bodies", "negative", SCENARIO, None, negative.bad_bodies),
        Unit("negative: credentials", "negative", SCENARIO, None, negative.credentials),
    ]
    units += [
        Unit(f"scenario: {s.check}", "scenarios", s.operation, s.check, s.run)
        for s in scenarios.SCENARIOS
    ]
    from rooms_kit.contract import fuzz  # noqa: PLC0415 - Schemathesis is heavy

    units += fuzz.units(profile)
    return units


@contextmanager
def open_run(
    target: Target,
    tokens: list[str],
    *,
    seed: int = DEFAULT_SEED,
    profile: str = "smoke",
    schemathesis_config: Path | None = None,
) -> Iterator[SuiteContext]:
    """A context with players discovered; closes the HTTP session afterwards."""
    if len(tokens) < 2:
        raise CannotRun("the suite needs at least two tokens (two different players)")
    if profile not in PROFILES:
        raise CannotRun(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    openapi = OpenApi.load()
    results = Results(seed=seed, profile=profile, target=target.base_url)
    session = HttpSession(target.client())
    ctx = SuiteContext(
        session=session,
        players=[Player(token) for token in tokens],
        openapi=openapi,
        checks=CheckContext(openapi),
        results=results,
        seed=seed,
        schemathesis_config=schemathesis_config,
    )
    session.observers.append(ctx.observe)
    try:
        discover_players(ctx)
        results.units.append(ctx.unit)  # "setup": its answers went through the checks too
        yield ctx
    finally:
        session.close()


def run_unit(ctx: SuiteContext, unit: Unit) -> UnitResult:
    """Run one unit; contract failures are recorded, never raised."""
    result = UnitResult(unit.name, unit.phase)
    ctx.unit = result
    ctx.last = None
    started = time.perf_counter()
    try:
        unit.run(ctx)
    except ContractFailure as failure:
        exchange = failure.exchange or ctx.last
        operation = exchange.operation if exchange else unit.operation
        ctx.results.record_failure(failure, operation, result, exchange)
    except CannotRun:
        raise
    except Exception as exc:  # an answer the unit could not make sense of
        result.error = f"{type(exc).__name__}: {exc}"
        stopped = ContractFailure(
            unit.check or "unexpected_answer",
            "the unit stopped on an answer it could not use",
            result.error,
            exchange=ctx.last,
        )
        operation = ctx.last.operation if ctx.last else unit.operation
        ctx.results.record_failure(stopped, operation, result, ctx.last)
    else:
        if unit.check is not None:
            ctx.results.record_pass(unit.check, unit.operation)
    finally:
        result.seconds = time.perf_counter() - started
        ctx.results.units.append(result)
    return result


def run_suite(
    target: Target,
    tokens: list[str],
    *,
    seed: int = DEFAULT_SEED,
    profile: str = "smoke",
    progress: Callable[[UnitResult], None] | None = None,
    phases: tuple[str, ...] = PHASES,
) -> Results:
    """Run every unit of ``profile`` in ``phases`` (negative, scenarios, fuzz, stateful)."""
    with open_run(target, tokens, seed=seed, profile=profile) as ctx:
        for unit in plan(PROFILES[profile]):
            if unit.phase not in phases:
                continue
            result = run_unit(ctx, unit)
            if progress is not None:
                progress(result)
        return ctx.results

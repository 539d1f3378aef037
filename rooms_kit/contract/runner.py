"""Runs the suite: setup (player discovery), negative requests, scenarios, then fuzzing.

``plan(profile)`` lists the units; ``run_suite`` runs them all and returns the ``Results``;
``open_run`` / ``run_unit`` let a pytest entry run one unit per test.

Every request is bounded by ``Limits`` and the run by a ``Deadline`` (the profile's ``max_time``
unless given). At the deadline the unit in progress stops, the rest are not run, and the results
carry a ``run_deadline`` failure that says what was and was not checked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rooms_kit.contract import negative, scenarios
from rooms_kit.contract.bounded import Limits
from rooms_kit.contract.checks import CheckContext
from rooms_kit.contract.context import Player, SuiteContext, discover_players
from rooms_kit.contract.failures import CannotRun, ContractFailure, Deadline, DeadlineReached
from rooms_kit.contract.http import HttpSession, RecordedRequest, Target
from rooms_kit.contract.hypothesis_home import use_private_home
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.contract.profiles import PROFILES, Profile
from rooms_kit.contract.results import RUN, SCENARIO, Results, UnitResult
from rooms_kit.contract.secrets import Secrets
from rooms_kit.contract.units import Unit

DEFAULT_SEED = 20_200_331  # fixed so that runs repeat; any integer works with --seed
PHASES = ("negative", "scenarios", "fuzz", "stateful")
# A token the suite can put in a header (CR, LF, spaces or an empty token would break the request
# itself, not test the server); long enough for JWTs.
MAX_TOKEN_CHARS = 8192
SENDABLE_TOKEN = re.compile(rf"[\x21-\x7e]{{1,{MAX_TOKEN_CHARS}}}")


def plan(profile: Profile, openapi: OpenApi | None = None) -> list[Unit]:
    """The units of a run, in order; the fuzzed operations are those of the document."""
    units = [
        Unit("negative: bad parameters", "negative", SCENARIO, None, negative.bad_parameters),
        Unit("negative: bad bodies", "negative", SCENARIO, None, negative.bad_bodies),
        Unit("negative: credentials", "negative", SCENARIO, None, negative.credentials),
    ]
    units += [
        Unit(f"scenario: {s.check}", "scenarios", s.operation, s.check, s.run)
        for s in scenarios.SCENARIOS
    ]
    # Imported here, not at the top: Hypothesis and Schemathesis cost a second and 40 MB, and
    # ``import rooms_kit.contract`` (or --help) should not pay that. No module imports runner.
    from rooms_kit.contract import fuzz  # noqa: PLC0415

    document = openapi or OpenApi.load()
    units += fuzz.units(profile, sorted(document.operations))
    return units


def unsendable_token(tokens: list[str]) -> str | None:
    """What is wrong with the first token that no request could carry, else None. The message
    numbers the token and never quotes it: a token is a secret."""
    for number, token in enumerate(tokens, 1):
        if not SENDABLE_TOKEN.fullmatch(token):
            return (
                f"token number {number} cannot be sent in an 'Authorization: Bearer' header: a "
                f"token is 1 to {MAX_TOKEN_CHARS} visible ASCII characters, without spaces"
            )
    return None


@contextmanager
def open_run(
    target: Target,
    tokens: list[str],
    *,
    seed: int = DEFAULT_SEED,
    profile: str = "smoke",
    schemathesis_config: Path | None = None,
    limits: Limits | None = None,
    max_time: float | None = None,
) -> Iterator[SuiteContext]:
    """A context with players discovered; closes the HTTP session afterwards.

    ``max_time`` (seconds) overrides the profile's deadline. When setup itself fails (a bound
    broke, or the deadline came first), the failure is recorded and ``ctx.ready`` is False.
    """
    if len(tokens) < 2:
        raise CannotRun("the suite needs at least two tokens (two different players)")
    problem = unsendable_token(tokens)
    if problem is not None:
        raise CannotRun(problem)
    if profile not in PROFILES:
        raise CannotRun(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    use_private_home()  # before Hypothesis touches the disk: nothing lands in the working directory
    openapi = OpenApi.load()
    seconds = PROFILES[profile].max_time if max_time is None else max_time
    secrets = Secrets.of(tokens)  # every exchange and report shows them as placeholders
    results = Results(
        seed=seed, profile=profile, target=target.base_url, max_time=seconds, secrets=secrets
    )
    limits = limits or Limits()
    session = HttpSession(
        target.transport(limits), target.base_url, limits, Deadline(seconds), secrets=secrets
    )
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

    def timing(operation: str, seconds: float, request: RecordedRequest) -> None:
        results.record_latency(operation, seconds, request.curl)

    session.timings.append(timing)
    try:
        try:
            discover_players(ctx)
        except ContractFailure as failure:
            ctx.ready = False
            evidence = failure.exchange or ctx.last
            operation = evidence.operation if evidence else SCENARIO
            results.record_failure(failure, operation, ctx.unit, evidence)
        except DeadlineReached:
            ctx.ready = False
            ctx.unit.error = "cut short by the run deadline"
            _record_deadline(ctx, ["setup"], [])
        finally:
            session.halt = None
        results.units.append(ctx.unit)  # "setup": its answers went through the checks too
        yield ctx
    finally:
        session.close()


def _record_deadline(ctx: SuiteContext, cut: list[str], not_run: list[str]) -> None:
    """The ``run_deadline`` failure: what was checked, what was cut short, what did not run."""
    results = ctx.results
    results.not_run = not_run
    finished = [unit.name for unit in results.units if unit.error is None and unit.name != "setup"]
    lines = [
        f"finished: {len(finished)} unit(s), {results.checked} check(s) made",
        f"cut short: {', '.join(cut)}",
    ]
    if not_run:
        lines.append(f"not run: {', '.join(not_run)}")
    seconds = ctx.session.deadline.seconds or 0.0
    failure = ContractFailure(
        "run_deadline",
        f"the run reached its deadline of {seconds:g} s (--max-time) before it was done",
        "; ".join(lines),
    )
    results.record_failure(failure, RUN, ctx.unit, None)


def run_unit(ctx: SuiteContext, unit: Unit) -> UnitResult:
    """Run one unit; contract failures are recorded, never raised."""
    result = UnitResult(unit.name, unit.phase)
    ctx.unit = result
    ctx.last = None
    ctx.session.halt = None
    started = time.perf_counter()
    try:
        if not ctx.ready:
            result.error = "not run: setup failed (see its failure)"
            return result
        unit.run(ctx)
    except DeadlineReached:
        result.error = "cut short by the run deadline"
        raise
    except ContractFailure as failure:
        exchange = failure.exchange or ctx.last
        operation = exchange.operation if exchange else unit.operation
        ctx.results.record_failure(failure, operation, result, exchange)
    except CannotRun:
        raise
    except Exception as exc:  # an answer the unit could not make sense of
        if ctx.session.deadline.expired():  # Hypothesis may wrap the deadline in its own error
            result.error = "cut short by the run deadline"
            raise DeadlineReached(str(exc)) from exc
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
        if unit.check is not None and ctx.ready:
            ctx.results.record_pass(unit.check, unit.operation)
    finally:
        result.seconds = time.perf_counter() - started
        ctx.session.halt = None
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
    limits: Limits | None = None,
    max_time: float | None = None,
) -> Results:
    """Run every unit of ``profile`` in ``phases`` (negative, scenarios, fuzz, stateful)."""
    with open_run(
        target, tokens, seed=seed, profile=profile, limits=limits, max_time=max_time
    ) as ctx:
        if ctx.ready:
            every = plan(PROFILES[profile], ctx.openapi)
            run_units(ctx, [unit for unit in every if unit.phase in phases], progress)
        return ctx.results


def run_units(
    ctx: SuiteContext, units: list[Unit], progress: Callable[[UnitResult], None] | None = None
) -> None:
    """Run ``units`` in order until the deadline, which records ``run_deadline`` and stops."""
    for index, unit in enumerate(units):
        try:
            result = run_unit(ctx, unit)
        except DeadlineReached:
            _record_deadline(ctx, [unit.name], [u.name for u in units[index + 1 :]])
            if progress is not None:
                progress(ctx.results.units[-1])
            return
        if progress is not None:
            progress(result)

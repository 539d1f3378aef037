"""pytest entry of the contract suite: ``pytest contract_tests --base-url URL --token A --token B``.

Options (or environment variables; an option given on the command line wins, and a variable set
to an empty string counts as unset):

- ``--base-url`` (``ROOMS_KIT_BASE_URL``): the server to test; without it, the reference server
  runs in process (an ASGI app on an in-memory database, development-mode tokens);
- ``--token``, repeated (``ROOMS_KIT_TOKENS``, separated by spaces): one bearer token per player,
  at least two; default ``dev-alice dev-bob dev-carol``;
- ``--contract-profile`` (``ROOMS_KIT_PROFILE``): ``smoke`` (default) or ``full``;
- ``--contract-seed`` (``ROOMS_KIT_SEED``): seed for generated data;
- ``--contract-request-timeout`` (``ROOMS_KIT_REQUEST_TIMEOUT``): seconds per request (default 10);
- ``--contract-max-time`` (``ROOMS_KIT_MAX_TIME``): deadline of the session in seconds (default: the
  profile's); past it, every remaining test fails with ``[run_deadline]``.

The values are checked once, in ``pytest_configure``, by the parsers ``rooms-kit contract`` uses
for its own options, so both entries accept the same values and refuse the rest in the same words.
A refused value is a usage error: pytest prints one ``ERROR: ...`` line and exits 4 before it
collects anything.

Each test runs one unit of the engine (``rooms_kit.contract``) and fails with the request, the
response and a ``curl`` command for every contract failure it found.

No output shows a token: the suite's own errors (server unreachable, setup impossible) fail the
tests in one line (``pytrace=False``: pytest's tracebacks print the arguments of every frame, a
token among them), token N reads ``$ROOMS_KIT_TOKEN_N`` in a command and ``<token N>`` elsewhere,
and ``pytest_runtest_makereport`` scrubs whatever else a report would carry (any traceback,
captured output), whatever ``--tb`` or ``--showlocals`` asks for.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit

import pytest

from rooms_kit.cli.arguments import TOO_FEW_TOKENS, http_url, one_of
from rooms_kit.cli.cmd_contract import PROFILE_NAMES, SECONDS, SEED
from rooms_kit.contract import DEFAULT_SEED, Target
from rooms_kit.contract.bounded import DEFAULT_REQUEST_TIMEOUT, Limits
from rooms_kit.contract.context import SuiteContext
from rooms_kit.contract.failures import CannotRun, DeadlineReached
from rooms_kit.contract.profiles import PROFILES
from rooms_kit.contract.runner import open_run, plan, run_unit, unsendable_token
from rooms_kit.contract.secrets import NOTE, Secrets
from rooms_kit.contract.units import Unit

HERE = Path(__file__).parent
DEFAULT_TOKENS = ["dev-alice", "dev-bob", "dev-carol"]
DEFAULT_PROFILE = "smoke"  # unlike ``make contract`` and ``rooms-kit contract`` (full)

T = TypeVar("T")


@dataclass(frozen=True)
class EntryOptions:
    """The entry's options once checked (``pytest_configure``), for the fixtures and the plan."""

    base_url: str | None
    tokens: list[str]
    profile: str
    seed: int
    request_timeout: float
    max_time: float | None


OPTIONS = pytest.StashKey[EntryOptions]()
SECRETS = pytest.StashKey[Secrets]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # Every value stays text here and is checked in pytest_configure, where a bad one (from the
    # command line or the environment) can be refused in one line.
    group = parser.getgroup("rooms-kit contract")
    group.addoption(
        "--base-url",
        help="base URL of the server to test (default: the reference server, in "
        "process) [ROOMS_KIT_BASE_URL]",
    )
    group.addoption(
        "--token",
        action="append",
        default=[],
        dest="tokens",
        help="bearer token of one player; repeat it, at least two [ROOMS_KIT_TOKENS]",
    )
    group.addoption(
        "--contract-profile",
        metavar="{" + ",".join(PROFILE_NAMES) + "}",
        help=f"default {DEFAULT_PROFILE} [ROOMS_KIT_PROFILE]",
    )
    group.addoption("--contract-seed", metavar="N", help=f"default {DEFAULT_SEED} [ROOMS_KIT_SEED]")
    group.addoption(
        "--contract-request-timeout",
        metavar="SECONDS",
        help=f"default {DEFAULT_REQUEST_TIMEOUT:g} [ROOMS_KIT_REQUEST_TIMEOUT]",
    )
    group.addoption(
        "--contract-max-time",
        metavar="SECONDS",
        help="deadline of the session (default: the profile's) [ROOMS_KIT_MAX_TIME]",
    )


def _value(
    config: pytest.Config, option: str, variable: str, parse: Callable[[str], T], default: T
) -> T:
    """The option's value, else the environment variable's, else ``default``; a value ``parse``
    refuses becomes a usage error that names where it came from."""
    text: str | None = config.getoption(option.lstrip("-").replace("-", "_"))
    source = f"argument {option}"
    if text is None:
        text = os.environ.get(variable) or None
        source = f"environment variable {variable}"
    if text is None:
        return default
    try:
        return parse(text)
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"{source}: {exc}") from None


def _base_url(text: str) -> str:
    """``--base-url``: an http:// or https:// URL with a host, as ``rooms-kit contract --url``
    takes (an empty value is refused: it would have tested the built-in reference server)."""
    text = http_url(text)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL with a host")
    return text


def _tokens(config: pytest.Config) -> list[str]:
    given: list[str] = config.getoption("tokens")
    tokens = given or os.environ.get("ROOMS_KIT_TOKENS", "").split() or DEFAULT_TOKENS
    if len(tokens) < 2:
        raise pytest.UsageError(
            f"{TOO_FEW_TOKENS} (or ROOMS_KIT_TOKENS, separated by spaces), one per player; "
            f"got {len(tokens)}"
        )
    problem = unsendable_token(tokens)
    if problem is not None:
        raise pytest.UsageError(problem)
    return tokens


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract_phase(name): run the units of one phase")
    if config.getoption("help"):
        return  # --help works whatever the options and the environment say
    config.stash[SECRETS] = Secrets.of(_tokens(config))
    config.stash[OPTIONS] = EntryOptions(
        base_url=_value(config, "--base-url", "ROOMS_KIT_BASE_URL", _base_url, None),
        tokens=_tokens(config),
        profile=_value(
            config,
            "--contract-profile",
            "ROOMS_KIT_PROFILE",
            one_of(PROFILE_NAMES),
            DEFAULT_PROFILE,
        ),
        seed=_value(config, "--contract-seed", "ROOMS_KIT_SEED", SEED, DEFAULT_SEED),
        request_timeout=_value(
            config,
            "--contract-request-timeout",
            "ROOMS_KIT_REQUEST_TIMEOUT",
            SECONDS,
            DEFAULT_REQUEST_TIMEOUT,
        ),
        max_time=_value(config, "--contract-max-time", "ROOMS_KIT_MAX_TIME", SECONDS, None),
    )


def units_of(config: pytest.Config, phase: str) -> list[Unit]:
    profile = PROFILES[config.stash[OPTIONS].profile]
    return [unit for unit in plan(profile) if unit.phase == phase]


@pytest.fixture(scope="session")
def suite(pytestconfig: pytest.Config) -> Iterator[SuiteContext]:
    options = pytestconfig.stash[OPTIONS]
    app = None
    if options.base_url:
        target = Target.url(options.base_url)
    else:
        from rooms_kit.reference_server.app import create_reference_app  # noqa: PLC0415

        app = create_reference_app(":memory:", dev_tokens=True)
        target = Target.asgi(app)
    problem = None
    try:
        with open_run(
            target,
            options.tokens,
            seed=options.seed,
            profile=options.profile,
            schemathesis_config=HERE / "schemathesis.toml",
            limits=Limits(request_timeout=options.request_timeout),
            max_time=options.max_time,
        ) as ctx:
            yield ctx
    except CannotRun as exc:  # one line, no traceback: its frames hold the tokens
        problem = str(exc)
    finally:
        if app is not None:
            app.close()
    if problem is not None:  # outside the handler: pytest would print the chained exception too
        _fail(pytestconfig.stash[SECRETS], f"the contract suite cannot run: {problem}")


def _fail(secrets: Secrets, text: str) -> NoReturn:
    pytest.fail(secrets.scrub(text), pytrace=False)


def check_unit(suite: SuiteContext, unit: Unit) -> None:
    """Run one unit; fail the test with the evidence of every failure it found."""
    secrets = suite.session.secrets
    try:
        result = run_unit(suite, unit)
    except DeadlineReached as reached:
        problem = f"[run_deadline] {reached}"
    except CannotRun as exc:
        problem = f"the contract suite cannot run: {exc}"
    else:
        problem = None
    if problem is not None:  # outside the handler: no chained exception is printed
        _fail(secrets, problem)
    if result.error is not None and not result.failures:
        setup = [f"[{r.check}] {r.title}" for r in suite.results.failures if r.unit == "setup"]
        _fail(secrets, "\n".join([result.error, *setup]))
    if result.failures:
        lines = []
        for record in result.failures:
            lines.append(f"[{record.check}] {record.operation}: {record.title}")
            if record.message:
                lines.append(f"  {record.message}")
            if record.exchange is not None:
                lines += ["  " + line for line in record.exchange.describe().splitlines()]
        if any(record.exchange is not None for record in result.failures):
            lines.append(NOTE)
        _fail(secrets, "\n".join(lines))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Whatever a report carries (a traceback with the arguments of its frames, captured output)
    goes out without a token."""
    report = yield
    secrets = item.config.stash.get(SECRETS, None)
    if secrets is None:
        return report
    if report.longrepr is not None:
        text = str(report.longrepr)
        scrubbed = secrets.scrub(text)
        if scrubbed != text:
            report.longrepr = scrubbed
    report.sections = [(title, secrets.scrub(body)) for title, body in report.sections]
    return report


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("contract_phase")
    if marker is not None and "unit" in metafunc.fixturenames:
        units = units_of(metafunc.config, marker.args[0])
        metafunc.parametrize("unit", units, ids=[unit.name.split(": ", 1)[-1] for unit in units])

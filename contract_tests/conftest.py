"""pytest entry of the contract suite: ``pytest contract_tests --base-url URL --token A --token B``.

Options (or environment variables):

- ``--base-url`` (``ROOMS_KIT_BASE_URL``): the server to test; without it, the reference server
  runs in process (an ASGI app on an in-memory database, development-mode tokens);
- ``--token``, repeated (``ROOMS_KIT_TOKENS``, separated by spaces): one bearer token per player,
  at least two; default ``dev-alice dev-bob dev-carol``;
- ``--contract-profile`` (``ROOMS_KIT_PROFILE``): ``smoke`` (default) or ``full``;
- ``--contract-seed`` (``ROOMS_KIT_SEED``): seed for generated data;
- ``--contract-request-timeout`` (``ROOMS_KIT_REQUEST_TIMEOUT``): seconds per request (default 10);
- ``--contract-max-time`` (``ROOMS_KIT_MAX_TIME``): deadline of the session in seconds (default: the
  profile's); past it, every remaining test fails with ``[run_deadline]``.

Each test runs one unit of the engine (``rooms_kit.contract``) and fails with the request, the
response and a ``curl`` command for every contract failure it found.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rooms_kit.contract import DEFAULT_SEED, Target
from rooms_kit.contract.bounded import DEFAULT_REQUEST_TIMEOUT, Limits
from rooms_kit.contract.context import SuiteContext
from rooms_kit.contract.failures import DeadlineReached
from rooms_kit.contract.profiles import PROFILES
from rooms_kit.contract.runner import open_run, plan, run_unit
from rooms_kit.contract.units import Unit

HERE = Path(__file__).parent
DEFAULT_TOKENS = ["dev-alice", "dev-bob", "dev-carol"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rooms-kit contract")
    group.addoption("--base-url", default=os.environ.get("ROOMS_KIT_BASE_URL"))
    group.addoption("--token", action="append", default=[], dest="tokens")
    group.addoption("--contract-profile", default=os.environ.get("ROOMS_KIT_PROFILE", "smoke"))
    group.addoption(
        "--contract-seed", type=int, default=int(os.environ.get("ROOMS_KIT_SEED", DEFAULT_SEED))
    )
    group.addoption(
        "--contract-request-timeout",
        type=float,
        default=float(os.environ.get("ROOMS_KIT_REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT)),
    )
    max_time = os.environ.get("ROOMS_KIT_MAX_TIME")
    group.addoption(
        "--contract-max-time", type=float, default=float(max_time) if max_time else None
    )


def _tokens(config: pytest.Config) -> list[str]:
    given: list[str] = config.getoption("tokens")
    return given or os.environ.get("ROOMS_KIT_TOKENS", "").split() or DEFAULT_TOKENS


def units_of(config: pytest.Config, phase: str) -> list[Unit]:
    profile = PROFILES[config.getoption("contract_profile")]
    return [unit for unit in plan(profile) if unit.phase == phase]


@pytest.fixture(scope="session")
def suite(pytestconfig: pytest.Config) -> Iterator[SuiteContext]:
    base_url = pytestconfig.getoption("base_url")
    app = None
    if base_url:
        target = Target.url(base_url)
    else:
        from rooms_kit.reference_server.app import create_reference_app  # noqa: PLC0415

        app = create_reference_app(":memory:", dev_tokens=True)
        target = Target.asgi(app)
    try:
        with open_run(
            target,
            _tokens(pytestconfig),
            seed=pytestconfig.getoption("contract_seed"),
            profile=pytestconfig.getoption("contract_profile"),
            schemathesis_config=HERE / "schemathesis.toml",
            limits=Limits(request_timeout=pytestconfig.getoption("contract_request_timeout")),
            max_time=pytestconfig.getoption("contract_max_time"),
        ) as ctx:
            yield ctx
    finally:
        if app is not None:
            app.close()


def check_unit(suite: SuiteContext, unit: Unit) -> None:
    """Run one unit; fail the test with the evidence of every failure it found."""
    try:
        result = run_unit(suite, unit)
    except DeadlineReached as reached:
        pytest.fail(f"[run_deadline] {reached}", pytrace=False)
    if result.error is not None and not result.failures:
        setup = [f"[{r.check}] {r.title}" for r in suite.results.failures if r.unit == "setup"]
        pytest.fail("\n".join([result.error, *setup]), pytrace=False)
    if result.failures:
        lines = []
        for record in result.failures:
            lines.append(f"[{record.check}] {record.operation}: {record.title}")
            if record.message:
                lines.append(f"  {record.message}")
            if record.exchange is not None:
                lines += ["  " + line for line in record.exchange.describe().splitlines()]
        pytest.fail("\n".join(lines), pytrace=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("contract_phase")
    if marker is not None and "unit" in metafunc.fixturenames:
        units = units_of(metafunc.config, marker.args[0])
        metafunc.parametrize("unit", units, ids=[unit.name.split(": ", 1)[-1] for unit in units])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract_phase(name): run the units of one phase")

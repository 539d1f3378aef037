"""``pytest contract_tests`` refuses what ``rooms-kit contract`` refuses, as a usage error: exit 4
and one ``ERROR: ...`` line with the command's wording, before any test is collected or run.
Values come from the command line or from the ``ROOMS_KIT_*`` environment variables; both are
checked. No server is needed: every case is refused before one would be contacted."""

from __future__ import annotations

import subprocess

import pytest

from tests.contract.pytest_entry import run_pytest_entry

NOWHERE = "http://127.0.0.1:9"  # never contacted: every case stops before the session starts

RANGE = "must be above 0 and at most 86400"

# case -> (command-line arguments, environment, the whole ERROR line)
REFUSED: dict[str, tuple[list[str], dict[str, str], str]] = {
    "unknown profile": (
        ["--contract-profile", "quick"],
        {},
        "argument --contract-profile: invalid choice: 'quick' (choose from 'smoke', 'full')",
    ),
    "unknown profile from the environment": (
        [],
        {"ROOMS_KIT_PROFILE": "quick"},
        "environment variable ROOMS_KIT_PROFILE: invalid choice: 'quick' "
        "(choose from 'smoke', 'full')",
    ),
    "seed not a number, from the environment": (
        [],
        {"ROOMS_KIT_SEED": "abc"},
        "environment variable ROOMS_KIT_SEED: 'abc' is not a whole number",
    ),
    "seed not a number": (
        ["--contract-seed", "1.5"],
        {},
        "argument --contract-seed: '1.5' is not a whole number",
    ),
    "negative request timeout": (
        ["--contract-request-timeout", "-1"],
        {},
        f"argument --contract-request-timeout: {RANGE}, got -1",
    ),
    "request timeout not a number, from the environment": (
        [],
        {"ROOMS_KIT_REQUEST_TIMEOUT": "ten"},
        "environment variable ROOMS_KIT_REQUEST_TIMEOUT: 'ten' is not a number",
    ),
    "max time NaN": (
        ["--contract-max-time", "nan"],
        {},
        f"argument --contract-max-time: {RANGE}, got nan",
    ),
    "max time infinite, from the environment": (
        [],
        {"ROOMS_KIT_MAX_TIME": "inf"},
        f"environment variable ROOMS_KIT_MAX_TIME: {RANGE}, got inf",
    ),
    # an empty --base-url tested the built-in reference server and passed
    "empty base URL": (
        ["--base-url", ""],
        {},
        "argument --base-url: '' is not an http:// or https:// URL with a host",
    ),
    "base URL without a scheme": (
        ["--base-url", "notaurl"],
        {},
        "argument --base-url: 'notaurl' is not an http:// or https:// URL with a host",
    ),
    "ftp base URL, from the environment": (
        [],
        {"ROOMS_KIT_BASE_URL": "ftp://127.0.0.1:1/"},
        "environment variable ROOMS_KIT_BASE_URL: 'ftp://127.0.0.1:1/' is not an http:// or "
        "https:// URL with a host",
    ),
    "base URL with a port out of range": (
        ["--base-url", "http://127.0.0.1:99999"],
        {},
        "argument --base-url: 'http://127.0.0.1:99999' is not a usable URL: Port out of range "
        "0-65535",
    ),
    "base URL with a password": (
        ["--base-url", "http://u:hunter2@127.0.0.1:99999"],
        {},
        "argument --base-url: a user name or password in the URL is not supported (each request "
        "carries its own credentials); the URL is not shown",
    ),
    "base URL with a query": (
        ["--base-url", "http://127.0.0.1:9/?oauth_token=hunter2"],
        {},
        "argument --base-url: a query or a fragment in the URL is not supported (give the "
        "server's base URL); the URL is not shown, since a query may hold a token",
    ),
    "one token": (
        ["--token", "dev-alice"],
        {},
        "give at least two --token options (or ROOMS_KIT_TOKENS, separated by spaces), "
        "one per player; got 1",
    ),
    "one token, from the environment": (
        [],
        {"ROOMS_KIT_TOKENS": "dev-alice"},
        "give at least two --token options (or ROOMS_KIT_TOKENS, separated by spaces), "
        "one per player; got 1",
    ),
    "token that cannot be sent": (
        ["--token", "dev-alice", "--token", "dev bob"],
        {},
        "token number 2 cannot be sent in an 'Authorization: Bearer' header: a token is 1 to "
        "8192 visible ASCII characters, without spaces",
    ),
}


def _run(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base_url = [] if "ROOMS_KIT_BASE_URL" in environment else ["--base-url", NOWHERE]
    return run_pytest_entry("-q", *base_url, *arguments, environment=environment)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_input_is_a_one_line_usage_error(case: str) -> None:
    arguments, environment, message = REFUSED[case]
    completed = _run(arguments, environment)
    both = completed.stdout + completed.stderr
    assert completed.returncode == 4, both
    assert completed.stderr.strip() == f"ERROR: {message}", both
    assert "Traceback" not in both
    assert "dev bob" not in both and "hunter2" not in both  # secrets are never echoed
    assert " passed" not in both and " failed" not in both and " error" not in both


def test_the_limits_are_those_of_the_command() -> None:
    """The same refusal for the same value, worded the same way by both entries."""
    from rooms_kit.cli.main import main  # noqa: PLC0415

    completed = _run(["--contract-max-time", "1e300"], {})
    assert completed.returncode == 4
    assert completed.stderr.strip() == f"ERROR: argument --contract-max-time: {RANGE}, got 1e300"
    with pytest.raises(SystemExit):
        main(["contract", "--url", NOWHERE, "--max-time", "1e300"])


def test_help_is_shown_whatever_the_environment_holds() -> None:
    completed = _run(["--help"], {"ROOMS_KIT_SEED": "abc"})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "--contract-profile" in completed.stdout


def test_the_command_names_every_profile_of_the_engine() -> None:
    from rooms_kit.cli.cmd_contract import PROFILE_NAMES  # noqa: PLC0415
    from rooms_kit.contract.profiles import PROFILES  # noqa: PLC0415

    assert PROFILE_NAMES == tuple(PROFILES)

"""Every wait of ``rooms-kit db upgrade`` (and ``serve --migrate``) is bounded. The catalogue, each
case with the exact line it must end with, exit status 2, and the database usable afterwards:

- a migration step longer than ``--timeout``: PostgreSQL cancels it and rolls it back;
- another upgrade holding the lock longer than ``--timeout``: nothing is changed;
- a database gone mute (``MuteRelay``) while the lock is asked for, while a step runs, and
  while a step's COMMIT is on its way (the only case that may have been applied after all);
- a step cancelled by an operator, which is not reported as the limit.

Before, each of these waited for good (only Ctrl-C ended it)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from rooms_kit.cli import cmd_serve
from rooms_kit.cli.main import main as cli_main
from rooms_kit.reference_server import postgres_schema, postgres_watch
from rooms_kit.reference_server.postgres_schema import (
    LATEST_VERSION,
    MIGRATION_LOCK,
    Migration,
    UpgradeTimeout,
)
from rooms_kit.reference_server.sqlite_store import StoreError
from rooms_kit.reference_server.stores import upgrade
from tests.reference_server.mute_relay import GUARD_SECONDS, MuteRelay, outcome, relayed
from tests.reference_server.postgres_cluster import Cluster
from tests.reference_server.support import empty_postgres_database

EXTRA = Migration(LATEST_VERSION + 1, "a test step", "CREATE TABLE extra (x integer)")
SLOW = Migration(
    LATEST_VERSION + 1, "a slow step", "CREATE TABLE extra (x integer); SELECT pg_sleep(30)"
)


def _one_more(monkeypatch: pytest.MonkeyPatch, step: Migration) -> None:
    """This code knows one more step than the database has."""
    monkeypatch.setattr(postgres_schema, "MIGRATIONS", (*postgres_schema.MIGRATIONS, step))
    monkeypatch.setattr(postgres_schema, "LATEST_VERSION", step.version)


def _state(url: str) -> tuple[int, bool]:
    """(layout version, whether the test step's table exists)."""
    with psycopg.connect(url, autocommit=True) as connection:
        version = postgres_schema.current_version(connection)
        row = connection.execute("SELECT to_regclass('extra') IS NOT NULL").fetchone()
    assert row is not None
    return version, bool(row[0])


def _until_unlocked(url: str) -> None:
    """Wait until no session holds the upgrade lock (a cut connection's session has ended)."""
    deadline = time.monotonic() + GUARD_SECONDS
    with psycopg.connect(url, autocommit=True) as connection:
        while True:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK,))
            if row.fetchone() == (True,):
                connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
                return
            assert time.monotonic() < deadline, "the upgrade lock was never freed"
            time.sleep(0.05)


@pytest.fixture
def current(postgres: Cluster, request: pytest.FixtureRequest) -> str:
    """A database at the current layout, with one more (test) step to apply."""
    return empty_postgres_database(postgres, f"bounds_{request.node.name[:40]}")


@pytest.fixture
def relay(postgres: Cluster) -> Iterator[MuteRelay]:
    mute_relay = MuteRelay(postgres.port)
    try:
        yield mute_relay
    finally:
        mute_relay.close()


def test_a_step_longer_than_the_limit_is_cancelled_and_rolled_back(
    current: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _one_more(monkeypatch, SLOW)
    status = outcome(lambda: cli_main(["db", "upgrade", "--database", current, "--timeout", "1"]))
    assert status == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"rooms-kit: error: {current}: migration step {SLOW.version} (a slow step) did not "
        "finish within 1 s; PostgreSQL cancelled it and rolled it back, so the layout stays at "
        f"version {LATEST_VERSION}\n"
    )
    assert _state(current) == (LATEST_VERSION, False)
    _until_unlocked(current)  # released at once: the connection was healthy


def test_a_step_within_the_limit_is_applied_and_the_limit_does_not_outlive_it(
    current: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit is the step's own (``set_config(..., true)``, as ``SET LOCAL``): a step that
    finishes is applied, and the connection keeps its own statement timeout afterwards."""
    _one_more(monkeypatch, EXTRA)
    with psycopg.connect(current, autocommit=True) as connection:
        versions = postgres_schema.upgrade(connection, current, step_seconds=5)
        assert versions == (LATEST_VERSION, EXTRA.version)
        assert connection.execute("SHOW statement_timeout").fetchone() == ("0",)
    assert _state(current) == (EXTRA.version, True)


def test_a_lock_held_by_another_upgrade_longer_than_the_limit_changes_nothing(
    current: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _one_more(monkeypatch, EXTRA)
    with psycopg.connect(current, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        command = ["db", "upgrade", "--database", current, "--timeout", "0.5"]
        status = outcome(lambda: cli_main(command))
        assert status == 2
        out, err = capsys.readouterr()
        assert (out, err) == (
            "",
            f"rooms-kit: error: {current}: another upgrade holds the lock and did not finish "
            "within 0.5 s; nothing was changed (run the upgrade again once it is done)\n",
        )
        assert _state(current) == (LATEST_VERSION, False)
    assert cli_main(["db", "upgrade", "--database", current, "--timeout", "5"]) == 0
    assert _state(current) == (EXTRA.version, True)


def test_serve_migrate_timeout_bounds_the_upgrade_of_serve(current: str) -> None:
    """``serve --migrate`` takes the same bounds (``--migrate-timeout``) and does not start."""
    with psycopg.connect(current, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        command = ["serve", "--port", "0", "--dev-tokens", "--database", current]
        command += ["--migrate", "--migrate-timeout", "0.5"]
        served = subprocess.run(
            [sys.executable, "-m", "rooms_kit.cli.main", *command],
            capture_output=True,
            text=True,
            timeout=GUARD_SECONDS,
            check=False,
        )
    assert served.returncode == 2, served.stderr
    *logged, last = served.stderr.splitlines()
    assert last == (
        f"rooms-kit: error: {current}: another upgrade holds the lock and did not finish "
        "within 0.5 s; nothing was changed (run the upgrade again once it is done)"
    )
    assert logged == []  # it stopped before anything else, serving above all


def test_the_command_line_default_is_the_schema_modules() -> None:
    """The CLI cannot import ``postgres_schema`` (psycopg is an extra) to print its default."""
    assert cmd_serve.MIGRATE_SECONDS == postgres_schema.DEFAULT_STEP_SECONDS


@pytest.mark.parametrize("value", ["0", "-1", "86401", "1e3", "soon", ""])
def test_a_timeout_that_is_no_limit_is_refused(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main(["db", "upgrade", "--timeout", value])
    assert exited.value.code == 2
    assert "argument --timeout: " in capsys.readouterr().err


class MutedAt:
    """A connection through ``relay`` that mutes it just before (or just after) the first
    statement containing ``marker`` is sent."""

    def __init__(
        self, connection: psycopg.Connection[Any], relay: MuteRelay, marker: str, after: bool
    ) -> None:
        self._connection = connection
        self._relay = relay
        self._marker = marker
        self._after = after

    def execute(self, sql: str, *args: Any) -> Any:
        hit = self._marker in sql
        if hit and not self._after:
            self._relay.mute()
        result = self._connection.execute(sql, *args)
        if hit and self._after:
            self._relay.mute()
        return result

    def __getattr__(self, name: str) -> Any:  # transaction(), pgconn, close()
        return getattr(self._connection, name)


def _upgrade_muted_at(
    direct: str, relay: MuteRelay, marker: str, *, after: bool = False, step_seconds: float = 1
) -> object:
    with psycopg.connect(relayed(relay, direct), autocommit=True) as connection:
        muted = MutedAt(connection, relay, marker, after)
        return outcome(lambda: postgres_schema.upgrade(muted, "db", step_seconds=step_seconds))


def test_a_database_gone_mute_while_the_lock_is_asked_for_changes_nothing(
    current: str, relay: MuteRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Told apart from a busy lock: each ask is bounded like any statement, so a mute database
    is given up after 1 s here although the limit for a busy lock is an hour."""
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", 1.0)
    _one_more(monkeypatch, EXTRA)
    error = _upgrade_muted_at(current, relay, "pg_try_advisory_lock", step_seconds=3600)
    assert isinstance(error, UpgradeTimeout), error
    assert str(error) == (
        "db: PostgreSQL did not answer within 1 s while taking the upgrade lock (the "
        "connection was closed); nothing was changed"
    )
    relay.unmute()
    _until_unlocked(current)
    assert _state(current) == (LATEST_VERSION, False)


def test_a_database_gone_mute_during_a_step_leaves_it_unapplied(
    current: str, relay: MuteRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", 1.0)
    _one_more(monkeypatch, EXTRA)
    error = _upgrade_muted_at(current, relay, EXTRA.sql)
    assert isinstance(error, UpgradeTimeout), error
    assert str(error) == (
        f"db: PostgreSQL did not answer within 2 s while applying migration step "
        f"{EXTRA.version} (a test step) (the connection was closed); migration step "
        f"{EXTRA.version} (a test step) was not applied (PostgreSQL rolls it back)"
    )
    relay.unmute()  # what was held reaches PostgreSQL, then the end of the connection
    _until_unlocked(current)
    assert _state(current) == (LATEST_VERSION, False)
    upgraded = postgres_schema.upgrade
    with psycopg.connect(current, autocommit=True) as connection:
        assert upgraded(connection, "db") == (LATEST_VERSION, EXTRA.version)


def test_a_step_whose_commit_goes_unanswered_may_have_been_applied(
    current: str, relay: MuteRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Muted after the step's last statement: its COMMIT is sent but never answered. A server
    that was only slow applies it (here once the relay passes on what it held), so the error
    must not say it was not applied, and a second upgrade is safe either way."""
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", 1.0)
    _one_more(monkeypatch, EXTRA)
    error = _upgrade_muted_at(current, relay, "INSERT INTO rooms_kit_migrations", after=True)
    assert isinstance(error, UpgradeTimeout), error
    assert str(error) == (
        f"db: PostgreSQL did not answer within 2 s while applying migration step "
        f"{EXTRA.version} (a test step) (the connection was closed); migration step "
        f"{EXTRA.version} (a test step) may or may not have been applied (its COMMIT went "
        "unanswered); run the upgrade again, which applies only what is missing"
    )
    relay.unmute()
    _until_unlocked(current)
    assert _state(current) == (EXTRA.version, True)  # the COMMIT held on the way arrived
    with psycopg.connect(current, autocommit=True) as connection:
        again = postgres_schema.upgrade(connection, "db")
    assert again == (EXTRA.version, EXTRA.version)


def test_a_step_cancelled_by_someone_else_is_not_called_a_timeout(
    current: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's ``pg_cancel_backend`` raises the same error as the step's limit: it is
    reported as PostgreSQL words it, not as a limit the step did not reach."""
    _one_more(monkeypatch, SLOW)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(lambda: outcome(lambda: upgrade(current, step_seconds=3600)))
        with psycopg.connect(current, autocommit=True) as operator:
            deadline = time.monotonic() + GUARD_SECONDS
            while True:
                cancelled = operator.execute(
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
                ).fetchall()
                if cancelled == [(True,)]:
                    break
                assert time.monotonic() < deadline, "the step never started"
                time.sleep(0.05)
        error = running.result()
    assert type(error) is StoreError, error
    assert str(error) == (
        f"{current}: cannot upgrade the database: canceling statement due to user request"
    )
    assert _state(current) == (LATEST_VERSION, False)

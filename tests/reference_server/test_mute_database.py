"""A PostgreSQL server that stops answering without closing its sockets (stopped, swamped, cut
off by the network), between the reference server and the database (``MuteRelay``).

The catalogue: a read, a write and the health check while it is mute, each with the answer it
must get in bounded time; and the server working normally once PostgreSQL answers again. The same
for statements sent from a thread (the CLI, start-up checks, direct use of ``PostgresStore``),
plus a connection lost under them and ``rooms-kit tokens add`` on a database gone mute."""

from __future__ import annotations

import errno
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from rooms_kit.cli.main import main as cli_main
from rooms_kit.reference_server import app as app_module
from rooms_kit.reference_server import postgres_loop, postgres_store, postgres_watch, stores
from rooms_kit.reference_server.app import ReferenceApp, create_reference_app
from rooms_kit.reference_server.postgres_store import PostgresStore
from rooms_kit.reference_server.postgres_watch import ThreadStatementTimeout
from rooms_kit.reference_server.sqlite_store import StoreError
from rooms_kit.reference_server.storage import Store
from tests.reference_server.mute_relay import GUARD_SECONDS, MuteRelay, outcome, relayed
from tests.reference_server.postgres_cluster import Cluster
from tests.reference_server.support import empty_postgres_database, in_process_http, serve_logged

ALICE = {"Authorization": "Bearer dev-alice"}


@pytest.fixture
def relay(postgres: Cluster, request: pytest.FixtureRequest) -> Iterator[tuple[MuteRelay, str]]:
    """A relay to a new database of the session's cluster, and that database's direct address."""
    direct = empty_postgres_database(postgres, f"mute_{request.node.name[:40]}")
    relay = MuteRelay(postgres.port)
    try:
        yield relay, direct
    finally:
        relay.close()


@pytest.fixture
def served(relay: tuple[MuteRelay, str]) -> Iterator[tuple[httpx.Client, ReferenceApp]]:
    """The reference server, in this process, on the relayed database."""
    mute_relay, direct = relay
    through_relay = direct.replace(
        f":{psycopg.conninfo.conninfo_to_dict(direct)['port']}/", f":{mute_relay.port}/"
    )
    app = create_reference_app(through_relay, dev_tokens=True, pool_size=4)
    try:
        with in_process_http(app) as http:
            try:
                yield http, app
            finally:
                mute_relay.unmute()  # before the portal waits for what is still running
    finally:
        app.close()


def _answer(call: Callable[[], httpx.Response]) -> httpx.Response:
    """``call()``'s response (the fixtures unmute the relay after a hang, which lets the stuck
    call end)."""
    response = outcome(call)
    assert isinstance(response, httpx.Response), response
    return response


def _backend_error(response: httpx.Response) -> None:
    assert response.status_code == 500, response.text
    error = response.json()["error"]
    assert error["code"] == 500
    assert error["errors"][0]["reason"] == "backendError"


def test_a_read_from_a_mute_database_fails_in_bounded_time_and_service_resumes(
    relay: tuple[MuteRelay, str],
    served: tuple[httpx.Client, ReferenceApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres_loop, "STATEMENT_SECONDS", 1.0)
    mute_relay, _ = relay
    http, _ = served
    created = http.post("/games/v1/rooms/create", json={"invitedPlayerIds": ["bob"]}, headers=ALICE)
    assert created.status_code == 200, created.text
    room_id = created.json()["roomId"]
    mute_relay.mute()
    response = _answer(lambda: http.get(f"/games/v1/rooms/{room_id}", headers=ALICE))
    _backend_error(response)
    mute_relay.unmute()
    again = http.get(f"/games/v1/rooms/{room_id}", headers=ALICE)
    assert again.status_code == 200, again.text
    assert again.json()["roomId"] == room_id


def test_a_write_to_a_mute_database_fails_and_its_retry_makes_one_room(
    relay: tuple[MuteRelay, str],
    served: tuple[httpx.Client, ReferenceApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres_loop, "STATEMENT_SECONDS", 1.0)
    mute_relay, direct = relay
    http, _ = served
    body = {"invitedPlayerIds": ["bob"], "requestId": "4242"}
    assert http.get("/healthz").status_code == 200  # a connection is open before the silence
    mute_relay.mute()
    response = _answer(lambda: http.post("/games/v1/rooms/create", json=body, headers=ALICE))
    _backend_error(response)
    mute_relay.unmute()
    first = http.post("/games/v1/rooms/create", json=body, headers=ALICE)
    second = http.post("/games/v1/rooms/create", json=body, headers=ALICE)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["roomId"] == second.json()["roomId"]
    with psycopg.connect(direct) as connection:
        rows = connection.execute(
            "SELECT room_id FROM create_requests WHERE request_id = 4242"
        ).fetchall()
    assert rows == [(first.json()["roomId"],)]


def test_health_says_503_in_its_own_time_while_the_database_is_mute(
    relay: tuple[MuteRelay, str],
    served: tuple[httpx.Client, ReferenceApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The health check does not wait for the (here very long) statement bound: a load
    balancer learns within ``HEALTH_SECONDS`` that this server cannot serve."""
    monkeypatch.setattr(postgres_loop, "STATEMENT_SECONDS", 600.0)
    monkeypatch.setattr(app_module, "HEALTH_SECONDS", 1.0)
    mute_relay, _ = relay
    http, app = served
    assert http.get("/healthz").status_code == 200
    mute_relay.mute()
    response = _answer(lambda: http.get("/healthz"))
    assert (response.status_code, response.json()) == (503, {"status": "database unavailable"})
    mute_relay.unmute()
    deadline = time.monotonic() + GUARD_SECONDS
    while http.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, "no recovery"
        time.sleep(0.1)
    while app._checks:  # the check given up on ends too, once it is cancelled or answered
        assert time.monotonic() < deadline, "an abandoned health check never ended"
        time.sleep(0.1)


# The thread side: the CLI, start-up checks and direct use of PostgresStore block in psycopg
# rather than on the event loop; ``postgres_watch`` bounds those statements.


@pytest.fixture
def thread_store(relay: tuple[MuteRelay, str]) -> Iterator[PostgresStore]:
    mute_relay, direct = relay
    store = PostgresStore(relayed(mute_relay, direct), pool_size=2)
    try:
        yield store
    finally:
        mute_relay.unmute()
        store.close()


def test_a_thread_side_read_from_a_mute_database_fails_in_bounded_time_and_resumes(
    relay: tuple[MuteRelay, str], thread_store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", 1.0)
    mute_relay, _ = relay
    assert thread_store.has_tokens() is False  # a pooled connection is open before the silence
    mute_relay.mute()
    started = time.monotonic()
    error = outcome(thread_store.has_tokens)
    assert isinstance(error, ThreadStatementTimeout), error
    assert str(error) == (
        f"{thread_store.path}: PostgreSQL did not answer within 1 s (the connection was closed)"
    )
    assert time.monotonic() - started < GUARD_SECONDS
    mute_relay.unmute()
    assert thread_store.has_tokens() is False  # the cut connection was replaced


def test_a_thread_side_write_to_a_mute_database_fails_and_keeps_nothing(
    relay: tuple[MuteRelay, str], thread_store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", 1.0)
    mute_relay, direct = relay
    assert thread_store.auth_mode() is None
    mute_relay.mute()
    error = outcome(lambda: thread_store.add_token_digest("d" * 64, "alice"))
    assert isinstance(error, ThreadStatementTimeout), error
    mute_relay.unmute()
    with psycopg.connect(direct) as connection:
        assert connection.execute("SELECT count(*) FROM tokens").fetchone() == (0,)
    thread_store.add_token_digest("d" * 64, "alice")
    assert thread_store.player_for_token_digest("d" * 64) == "alice"


def test_a_connection_lost_on_the_thread_side_is_a_store_error_not_a_traceback(
    relay: tuple[MuteRelay, str], thread_store: PostgresStore
) -> None:
    mute_relay, _ = relay
    assert thread_store.has_tokens() is False
    mute_relay.close()  # every relayed socket closes, as when PostgreSQL is killed
    error = outcome(thread_store.has_tokens)
    assert type(error) is StoreError, error
    assert str(error).startswith(f"{thread_store.path}: "), error
    assert "password" not in str(error)


def test_tokens_add_on_a_database_gone_mute_exits_2_with_one_line(
    relay: tuple[MuteRelay, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", 1.0)
    mute_relay, direct = relay
    opened: list[PostgresStore] = []

    def open_then_mute(database: str, *, pool_size: int | None = None) -> Store:
        store = real_open(database, pool_size=pool_size)
        assert isinstance(store, PostgresStore)
        opened.append(store)
        assert store.has_tokens() is False  # the command's pool holds an open connection
        mute_relay.mute()  # PostgreSQL falls silent right after the command has connected
        return store

    real_open = stores.open_store
    monkeypatch.setattr(stores, "open_store", open_then_mute)
    address = relayed(mute_relay, direct)
    status = outcome(lambda: cli_main(["tokens", "add", "alice", "--database", address]))
    mute_relay.unmute()
    assert len(opened) == 1
    assert status == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"rooms-kit: error: {opened[0].path}: PostgreSQL did not answer within 1 s"
        " (the connection was closed)\n"
    )


def test_no_connection_from_a_mute_database_is_a_store_error_in_bounded_time(
    relay: tuple[MuteRelay, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool opens connections on demand; when none can be opened (PostgreSQL accepts the
    TCP connection but never answers), the caller gets a ``StoreError``, not psycopg's
    ``PoolTimeout``."""
    monkeypatch.setattr(postgres_store, "POOL_WAIT_SECONDS", 1.0)
    mute_relay, direct = relay
    store = PostgresStore(relayed(mute_relay, direct), pool_size=2)
    try:
        mute_relay.mute()
        error = outcome(store.has_tokens)
        assert type(error) is StoreError, error
        assert str(error) == (
            f"{store.path}: no database connection within 1 s (PostgreSQL did not answer, "
            "or every connection stayed busy)"
        )
        mute_relay.unmute()
        deadline = time.monotonic() + GUARD_SECONDS
        while outcome(store.has_tokens) is not False:  # the pool retries with a back-off
            assert time.monotonic() < deadline, "no connection once PostgreSQL answers again"
            time.sleep(0.2)
    finally:
        mute_relay.unmute()
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_signal_while_serve_waits_for_a_mute_database_stops_it_cleanly(
    relay: tuple[MuteRelay, str], tmp_path: Path, sig: signal.Signals, workers: str
) -> None:
    """``serve`` starting on a database that does not answer waits up to 10 s to connect (and
    40 s a statement); SIGTERM or Ctrl-C meanwhile ends it at once with exit status 0 and
    ``stopped`` as its last line. Before, SIGTERM killed the single process outright."""
    mute_relay, direct = relay
    mute_relay.mute()
    log = tmp_path / "serve.log"
    arguments = ["--port", "0", "--workers", workers, "--dev-tokens"]
    arguments += ["--database", relayed(mute_relay, direct)]
    with serve_logged(arguments, tmp_path, log) as process:
        deadline = time.monotonic() + GUARD_SECONDS
        while mute_relay.connections() == 0:  # serve (or its first worker) is connecting
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve never reached the database"
            time.sleep(0.05)
        os.kill(process.pid, sig)
        status = process.wait(timeout=GUARD_SECONDS)  # a guard against a hang only
    text = log.read_text()
    assert status == 0, text
    assert "Traceback" not in text
    assert json.loads(text.splitlines()[-1])["event"] == "stopped", text


PAUSED_BOUND = 1.0
"""The statement bound of the tests that pause a thread between an answer and the end of its
bound: long enough for a statement on a loaded machine (0.2 s was not always), short enough to
wait for."""


def _until_expired(watch: postgres_watch.StatementWatch) -> None:
    """The pause: until the watch's timer has fired (a fixed sleep raced the timer's thread)."""
    deadline = time.monotonic() + GUARD_SECONDS
    while not watch.expired:
        assert time.monotonic() < deadline, "the statement bound never fired"
        time.sleep(0.01)


def test_an_answer_that_arrives_as_the_bound_passes_leaves_no_cut_connection_in_the_pool(
    relay: tuple[MuteRelay, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timer can fire between PostgreSQL's answer and the end of the bound (the thread
    descheduled there, simulated by a pause): the read still succeeds, but its socket is shut
    down while libpq believes it healthy. Before, the pool handed that connection to the next,
    unrelated caller, whose read then failed with 'server closed the connection unexpectedly'."""
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", PAUSED_BOUND)

    class PausedAfterTheAnswer(postgres_watch.StatementWatch):
        def run(self, function: Callable[..., Any], *args: Any) -> Any:
            with self.bounded():
                result = function(*args)
                _until_expired(self)  # the bound passes after the answer came
                return result

    _, direct = relay
    store = PostgresStore(direct, pool_size=1)  # one connection: the next read gets it back
    try:
        with monkeypatch.context() as late:
            late.setattr(postgres_store, "StatementWatch", PausedAfterTheAnswer)
            assert outcome(store.has_tokens) is False
        assert outcome(store.has_tokens) is False
    finally:
        store.close()


def test_a_commit_left_unanswered_says_the_write_may_have_been_applied(
    relay: tuple[MuteRelay, str], thread_store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL falls silent after the write's statement and before its COMMIT: the COMMIT is
    sent, the bound passes and the connection is cut. A server that was only slow still reads
    that COMMIT and applies it (here: the relay passes on what it held once unmuted), so the
    error must not read like a plain failure; before, it did ('did not answer ... closed')."""
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", 1.0)
    mute_relay, direct = relay
    assert thread_store.auth_mode() is None

    def write_then_fall_silent() -> None:
        with thread_store.write() as tx:
            tx.execute("INSERT INTO tokens (digest, player_id) VALUES (%s, %s)", ("e" * 64, "bob"))
            mute_relay.mute()

    error = outcome(write_then_fall_silent)
    assert isinstance(error, ThreadStatementTimeout), error
    assert str(error) == (
        f"{thread_store.path}: PostgreSQL did not answer the COMMIT within 1 s (the connection"
        " was closed): the write may or may not have been applied"
    )
    mute_relay.unmute()
    deadline = time.monotonic() + GUARD_SECONDS
    while True:  # what the error warns of: the COMMIT held on the way arrives after all
        with psycopg.connect(direct) as connection:
            if connection.execute("SELECT player_id FROM tokens").fetchall() == [("bob",)]:
                break
        assert time.monotonic() < deadline, "the COMMIT sent before the silence never arrived"
        time.sleep(0.1)


def test_a_write_cut_before_its_commit_fails_plainly_and_keeps_nothing(
    relay: tuple[MuteRelay, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same late timer under a write's statement: the connection is closed before COMMIT
    is ever sent, so the write fails as a plain timeout (not 'may have been applied') and
    nothing is stored."""
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", PAUSED_BOUND)

    class PausedAfterTheAnswer(postgres_watch.StatementWatch):
        def run(self, function: Callable[..., Any], *args: Any) -> Any:
            with self.bounded():
                result = function(*args)
                if function is not self.connection.commit:
                    _until_expired(self)  # the bound passes after the statement's answer came
                return result

    _, direct = relay
    store = PostgresStore(direct, pool_size=1)
    try:
        with monkeypatch.context() as late:
            late.setattr(postgres_store, "StatementWatch", PausedAfterTheAnswer)
            error = outcome(lambda: store.add_token_digest("f" * 64, "carol"))
        assert isinstance(error, ThreadStatementTimeout), error
        assert str(error) == (
            f"{store.path}: PostgreSQL did not answer within 1 s (the connection was closed)"
        )
        assert store.player_for_token_digest("f" * 64) is None
    finally:
        store.close()


def test_a_database_gone_mute_right_after_the_layout_check_does_not_hang_the_start(
    relay: tuple[MuteRelay, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL answers the start-up checks of the plain connection and then falls silent.
    Before, that connection still sent COMMIT as it closed, outside any bound, and the start
    (``serve``, ``tokens add``) waited for its answer for good."""
    monkeypatch.setattr(postgres_watch, "THREAD_STATEMENT_SECONDS", 1.0)
    mute_relay, direct = relay

    class SilentAfterTheChecks(postgres_watch.StatementWatch):
        @contextmanager
        def bounded(self, seconds: float | None = None) -> Iterator[None]:
            with super().bounded(seconds):
                yield
            mute_relay.mute()

    monkeypatch.setattr(postgres_store, "StatementWatch", SilentAfterTheChecks)
    store = outcome(lambda: PostgresStore(relayed(mute_relay, direct), pool_size=1))
    mute_relay.unmute()
    assert isinstance(store, PostgresStore), store
    store.close()


def test_a_statement_that_cannot_be_watched_is_not_sent(
    thread_store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of file descriptors, the watch cannot copy the socket it would cut: the statement
    is refused with the reason rather than sent without a bound."""
    assert thread_store.has_tokens() is False

    def no_descriptors(_: int) -> int:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(os, "dup", no_descriptors)
    error = outcome(thread_store.has_tokens)
    assert type(error) is StoreError, error
    assert str(error) == (
        f"{thread_store.path}: cannot watch the statement: {os.strerror(errno.EMFILE)}"
    )
    monkeypatch.undo()
    assert thread_store.has_tokens() is False


def test_a_statement_whose_bound_cannot_be_armed_is_not_sent(
    thread_store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No thread to be had for the watchdog: the statement is refused with the reason, and the
    copy of the socket made for the bound is closed (it was left open, and the error raw)."""
    assert thread_store.has_tokens() is False
    descriptors = len(os.listdir("/proc/self/fd"))

    def no_thread(seconds: float, fire: Any) -> Any:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(postgres_watch._WATCHDOG, "arm", no_thread)
    error = outcome(thread_store.has_tokens)
    assert type(error) is StoreError, error
    assert str(error) == f"{thread_store.path}: cannot watch the statement: can't start new thread"
    assert len(os.listdir("/proc/self/fd")) == descriptors
    monkeypatch.undo()
    assert thread_store.has_tokens() is False

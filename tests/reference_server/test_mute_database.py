"""A PostgreSQL server that stops answering without closing its sockets (stopped, swamped, cut
off by the network), between the reference server and the database (``MuteRelay``).

The catalogue: a read, a write and the health check while it is mute, each with the answer it
must get in bounded time; and the server working normally once PostgreSQL answers again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import httpx
import psycopg
import pytest

from rooms_kit.reference_server import app as app_module
from rooms_kit.reference_server import postgres_loop
from rooms_kit.reference_server.app import ReferenceApp, create_reference_app
from tests.reference_server.mute_relay import MuteRelay
from tests.reference_server.postgres_cluster import Cluster
from tests.reference_server.support import PortalTransport, empty_postgres_database, portal

GUARD_SECONDS = 60
"""Only catches a hang: the answers below come after the bound set in each test plus the
10 s psycopg may take to cancel a statement."""
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
        with (
            portal() as running,
            httpx.Client(
                base_url="http://127.0.0.1", transport=PortalTransport(app, running)
            ) as http,
        ):
            try:
                yield http, app
            finally:
                mute_relay.unmute()  # before the portal waits for what is still running
    finally:
        app.close()


def _answer(call: Callable[[], httpx.Response]) -> httpx.Response:
    """``call()``'s response; a hang fails the test after ``GUARD_SECONDS`` (the fixtures then
    unmute the relay, which lets the stuck call end)."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(call).result(timeout=GUARD_SECONDS)
    except FutureTimeout:
        pytest.fail(f"no answer within {GUARD_SECONDS} s while the database is mute")
    finally:
        pool.shutdown(wait=False)


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

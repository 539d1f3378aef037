"""A PostgreSQL standby (read-only while in recovery) behind ``--database``: the server refuses to
start on one, and a running server whose address turns out to lead to one (a failover gone the
wrong way, a misrouted address) says so on ``/healthz`` instead of reading healthy while every
write fails. Each case with the exact answer it must get."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from rooms_kit.cli.main import main as cli_main
from rooms_kit.reference_server.app import create_reference_app
from rooms_kit.reference_server.postgres_store import PostgresStore
from rooms_kit.reference_server.sqlite_store import StoreError
from rooms_kit.reference_server.stores import describe, upgrade
from tests.reference_server.mute_relay import MuteRelay
from tests.reference_server.postgres_cluster import Cluster
from tests.reference_server.support import in_process_http

GUARD_SECONDS = 60
"""Only catches a hang: the pool finds a cut connection at its next use."""
ALICE = {"Authorization": "Bearer dev-alice"}
DATABASE = "rooms"


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Cluster, Cluster]]:
    """A primary of its own (the session's cluster holds many databases, all of which a base
    backup would copy) with a migrated database, and a hot standby of it."""
    primary = Cluster()
    try:
        primary.start()
        upgrade(primary.create_database(DATABASE))
        standby = primary.standby()
        try:
            yield primary, standby
        finally:
            standby.stop()
    finally:
        primary.stop()


def _refusal(standby: Cluster) -> str:
    return (
        f"{describe(standby.url(DATABASE))}: this PostgreSQL is a standby (in recovery), which "
        "refuses writes; give the primary's address"
    )


def test_a_store_on_a_standby_is_refused_with_the_reason(pair: tuple[Cluster, Cluster]) -> None:
    _, standby = pair
    with psycopg.connect(standby.url(DATABASE)) as connection:  # the standby itself answers
        assert connection.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
    with pytest.raises(StoreError) as refused:
        PostgresStore(standby.url(DATABASE))
    assert str(refused.value) == _refusal(standby)


def test_tokens_add_on_a_standby_exits_2_with_one_line(
    pair: tuple[Cluster, Cluster], capsys: pytest.CaptureFixture[str]
) -> None:
    _, standby = pair
    assert cli_main(["tokens", "add", "alice", "--database", standby.url(DATABASE)]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"rooms-kit: error: {_refusal(standby)}\n")


def _until(http: httpx.Client, wanted: tuple[int, dict[str, str]]) -> None:
    deadline = time.monotonic() + GUARD_SECONDS
    while True:
        response = http.get("/healthz")
        if (response.status_code, response.json()) == wanted:
            return
        assert time.monotonic() < deadline, f"/healthz still says {response.text}"
        time.sleep(0.1)


def test_health_says_read_only_while_the_address_leads_to_a_standby(
    pair: tuple[Cluster, Cluster],
) -> None:
    primary, standby = pair
    relay = MuteRelay(primary.port)
    direct = primary.url(DATABASE)
    app = create_reference_app(
        direct.replace(f":{primary.port}/", f":{relay.port}/"), dev_tokens=True, pool_size=2
    )
    try:
        with in_process_http(app) as http:
            assert (http.get("/healthz").status_code, http.get("/healthz").json()) == (
                200,
                {"status": "ok"},
            )
            relay.retarget(standby.port)  # the address now leads to the standby
            relay.cut()
            _until(http, (503, {"status": "database is read-only"}))
            refused = http.post(
                "/games/v1/rooms/create", json={"invitedPlayerIds": ["bob"]}, headers=ALICE
            )
            assert refused.status_code == 500, refused.text
            assert refused.json()["error"]["errors"][0]["reason"] == "backendError"
            relay.retarget(primary.port)  # and back to the primary
            relay.cut()
            _until(http, (200, {"status": "ok"}))
            created = http.post(
                "/games/v1/rooms/create", json={"invitedPlayerIds": ["bob"]}, headers=ALICE
            )
            assert created.status_code == 200, created.text
    finally:
        app.close()
        relay.close()


def test_health_says_unavailable_when_the_database_has_lost_its_tables(
    postgres: Cluster,
) -> None:
    """A primary that takes writes but no longer holds the rooms layout (recreated empty, or
    the address moved to another database) serves no request. Before, the health check only
    asked pg_is_in_recovery(), which touches no table, and read 200 'ok' while every call
    failed; the check it replaced read the tokens table and said 503."""
    url = postgres.create_database("health_lost_tables")
    upgrade(url)
    app = create_reference_app(url, dev_tokens=True, pool_size=2)
    try:
        with in_process_http(app) as http:
            _until(http, (200, {"status": "ok"}))
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("DROP SCHEMA public CASCADE")
                connection.execute("CREATE SCHEMA public")
            refused = http.post(
                "/games/v1/rooms/create", json={"invitedPlayerIds": ["bob"]}, headers=ALICE
            )
            assert refused.status_code >= 500, refused.text
            _until(http, (503, {"status": "database unavailable"}))
    finally:
        app.close()

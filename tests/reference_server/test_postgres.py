"""The PostgreSQL store itself: layout versions, ``db upgrade``, refusals, the clock, the
authentication-mode claim, and what a wrong address gets."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from rooms_kit.reference_server import RoomService
from rooms_kit.reference_server.postgres_schema import LATEST_VERSION, SchemaVersionError
from rooms_kit.reference_server.postgres_store import PostgresStore, redact, scrubbed
from rooms_kit.reference_server.sqlite_store import StoreError
from rooms_kit.reference_server.stores import describe, open_store, upgrade
from tests.reference_server.postgres_cluster import Cluster
from tests.reference_server.support import empty_postgres_database

ROOT = Path(__file__).resolve().parents[2]


def rooms_kit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooms_kit.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def layout_version(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT max(version) FROM rooms_kit_migrations").fetchone()
    assert row is not None
    return int(row[0])


def test_db_upgrade_builds_the_layout_once_and_is_safe_to_repeat(postgres: Cluster) -> None:
    url = postgres.create_database("upgrade_cli")
    first = rooms_kit("db", "upgrade", "--database", url)
    assert first.returncode == 0, first.stderr
    assert f"layout version 0 -> {LATEST_VERSION}" in first.stdout
    again = rooms_kit("db", "upgrade", "--database", url)
    assert again.returncode == 0, again.stderr
    assert f"layout version {LATEST_VERSION}, up to date" in again.stdout
    assert layout_version(url) == LATEST_VERSION
    store = open_store(url)
    store.close()


def test_parallel_upgrades_apply_each_step_once(postgres: Cluster) -> None:
    url = postgres.create_database("upgrade_parallel")
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: upgrade(url), range(6)))
    assert sorted(results) == [(0, LATEST_VERSION)] + [(LATEST_VERSION, LATEST_VERSION)] * 5
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT version FROM rooms_kit_migrations").fetchall()
    assert [r[0] for r in rows] == list(range(1, LATEST_VERSION + 1))


def test_an_empty_database_is_refused_until_upgraded(postgres: Cluster) -> None:
    url = postgres.create_database("not_upgraded")
    with pytest.raises(SchemaVersionError, match="version 0, this rooms-kit needs"):
        open_store(url)
    for workers in ("1", "2"):
        served = rooms_kit("serve", "--database", url, "--port", "0", "--workers", workers)
        assert served.returncode == 2
        assert "rooms-kit db upgrade" in served.stderr
        assert "Traceback" not in served.stderr


def test_a_database_newer_than_the_code_is_refused(postgres: Cluster) -> None:
    url = empty_postgres_database(postgres, "from_the_future")
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO rooms_kit_migrations (version, description) VALUES (%s, 'later')",
            (LATEST_VERSION + 1,),
        )
    with pytest.raises(SchemaVersionError, match="newer than this rooms-kit"):
        open_store(url)
    for command in (("db", "upgrade"), ("serve", "--port", "0", "--migrate")):
        result = rooms_kit(*command, "--database", url)
        assert result.returncode == 2, command
        assert f"version {LATEST_VERSION + 1}, newer than this rooms-kit" in result.stderr
        assert "Traceback" not in result.stderr
    assert layout_version(url) == LATEST_VERSION + 1  # nothing was touched


@pytest.mark.parametrize("taken", ["CREATE TABLE rooms (id integer)", "CREATE TABLE clock (x int)"])
def test_a_database_of_another_application_is_refused_and_left_untouched(
    postgres: Cluster, taken: str
) -> None:
    """``db upgrade`` (or ``serve --migrate``) pointed at a database whose tables clash with
    rooms-kit's: exit 2 with a message that says so, and no table of rooms-kit's left behind
    (before, an empty ``rooms_kit_migrations`` stayed in the other application's database)."""
    url = postgres.create_database("another_application")
    with psycopg.connect(url) as connection:
        connection.execute(taken)
    for command in (("db", "upgrade"), ("serve", "--port", "0", "--migrate")):
        result = rooms_kit(*command, "--database", url)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith(
            f"rooms-kit: error: {url}: this database already holds tables that rooms-kit did "
            "not make (relation "
        ), result.stderr
        assert "give rooms-kit a database of its own (nothing was changed)" in result.stderr
        assert "Traceback" not in result.stderr
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    assert tables == [(taken.split()[2],)]


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("postgresql://nobody:hunter2@127.0.0.1:1/rooms", "cannot"),
        ("postgresql://127.0.0.1:1/rooms?connect_timeout=x", "cannot"),
    ],
)
def test_unusable_addresses_are_clear_errors_without_the_password(
    address: str, message: str
) -> None:
    for command in (("db", "upgrade"), ("serve", "--port", "0"), ("tokens", "add", "alice")):
        result = rooms_kit(*command, "--database", address)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith("rooms-kit: error: "), result.stderr
        assert message in result.stderr
        assert "hunter2" not in result.stderr
        assert "Traceback" not in result.stderr


def test_addresses_are_shown_without_passwords() -> None:
    assert redact("postgresql://bob:secret@db.example:5433/rooms") == (
        "postgresql://bob@db.example:5433/rooms"
    )
    assert describe("postgres://bob:pw@h/r") == "postgresql://bob@h/r"
    # taken apart as text: libpq reads a password with '/' or '@' as host or database name
    assert (
        redact("postgresql://rooms:Xy7/hunter2@db:5432/rooms") == "postgresql://rooms@db:5432/rooms"
    )
    assert (
        redact("postgresql://u:Sekr@hunter2@127.0.0.1:1/rooms")
        == "postgresql://u@127.0.0.1:1/rooms"
    )
    assert redact("postgresql://h/db?password=hunter2") == "postgresql://h/db"
    assert redact("postgresql://alice:hunter2/rooms") == "postgresql://alice/rooms"  # no @host
    assert redact("postgresql://[::1]:5432/rooms") == "postgresql://[::1]:5432/rooms"
    assert redact("postgresql://u%40x:hunter2@h/db") == "postgresql://h/db"
    assert describe("rooms.db") == "rooms.db"


@pytest.mark.parametrize(
    "address",
    [
        "postgresql://u:hunter2@[::1:5432/rooms",  # libpq quotes the whole address
        "postgresql://u:hunter2%ZZ@127.0.0.1/rooms",  # libpq quotes the bad part: the password
        "postgresql://u:hunter2@127.0.0.1:1/rooms",  # nobody listens on port 1
    ],
)
@pytest.mark.parametrize("opening", [open_store, upgrade])
def test_a_database_that_cannot_be_used_is_named_without_its_password(
    address: str, opening: object
) -> None:
    with pytest.raises(StoreError) as refused:
        opening(address)  # type: ignore[operator]
    assert "hunter2" not in str(refused.value)
    assert "cannot use this database" in str(refused.value) or "cannot upgrade" in str(
        refused.value
    )


def test_messages_are_scrubbed_of_the_password() -> None:
    url = "postgresql://bob:hunter2@db.example/rooms"
    assert scrubbed(f"failed for {url}: hunter2 was refused", url) == (
        "failed for postgresql://bob@db.example/rooms: *** was refused"
    )
    assert scrubbed("anything", "postgresql://bob:x@[::1/r") == (
        "the address cannot be read as a postgresql:// URI"
    )


def test_the_clock_never_repeats_across_parallel_writers(postgres: Cluster) -> None:
    """R-time-1"""
    url = empty_postgres_database(postgres, "clock")
    store = PostgresStore(url)
    try:
        with ThreadPoolExecutor(8) as pool:
            values = list(pool.map(lambda _: store.tick(1_000), range(400)))
        assert len(set(values)) == 400
        assert min(values) >= 1_000
        assert store.tick(5) == max(values) + 1  # a wall clock behind the counter
        assert store.tick(10**13) == 10**13  # a wall clock ahead of it
    finally:
        store.close()


def test_the_first_authentication_mode_claimed_wins(postgres: Cluster) -> None:
    url = empty_postgres_database(postgres, "auth_mode")
    stores = [PostgresStore(url) for _ in range(4)]
    start = threading.Barrier(len(stores))

    def claim(index: int) -> str:
        start.wait(60)
        return stores[index].claim_auth_mode(f"mode{index}")

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            answers = list(pool.map(claim, range(len(stores))))
        assert len(set(answers)) == 1
        assert answers[0] in {f"mode{i}" for i in range(len(stores))}
        assert stores[0].claim_auth_mode("other") == answers[0]
    finally:
        for store in stores:
            store.close()


def test_tokens_added_to_postgresql_end_development_mode(postgres: Cluster) -> None:
    url = empty_postgres_database(postgres, "tokens")
    added = rooms_kit("tokens", "add", "alice", "--database", url, "--token", "s3cret-token")
    assert added.returncode == 0, added.stderr
    store = PostgresStore(url)
    try:
        assert store.has_tokens()
        from rooms_kit.reference_server import TokenResolver, token_digest  # noqa: PLC0415

        assert store.player_for_token_digest(token_digest("s3cret-token")) == "alice"
        assert not TokenResolver(store).development_mode
        with psycopg.connect(url) as connection:
            stored = connection.execute("SELECT digest FROM tokens").fetchall()
        assert "s3cret-token" not in repr(stored)  # R-token-3: digests only
    finally:
        store.close()


def test_a_room_lives_across_stores_on_one_database(postgres: Cluster) -> None:
    """Two stores (as two processes would hold) see each other's commits at once."""
    url = empty_postgres_database(postgres, "two_stores")
    first, second = PostgresStore(url), PostgresStore(url)
    try:
        room = RoomService(first).create("alice", {"invitedPlayerIds": ["bob"]})
        joined = RoomService(second).join("bob", room["roomId"], {})
        assert joined["roomStatusVersion"] == room["roomStatusVersion"] + 1
        assert RoomService(first).get("alice", room["roomId"]) == RoomService(second).get(
            "alice", room["roomId"]
        )
    finally:
        first.close()
        second.close()


def test_a_closed_store_refuses_work(postgres: Cluster) -> None:
    url = empty_postgres_database(postgres, "closed")
    store = PostgresStore(url)
    store.close()
    with pytest.raises(Exception, match="closed"):
        store.has_tokens()


HIDE_PSYCOPG = """
import runpy, sys
sys.modules["psycopg"] = None
sys.modules["psycopg_pool"] = None
sys.argv = ["rooms-kit", *sys.argv[1:]]
runpy.run_module("rooms_kit", run_name="__main__")
"""


@pytest.mark.parametrize(
    "command",
    [("db", "upgrade"), ("serve", "--port", "0", "--dev-tokens"), ("tokens", "add", "alice")],
)
def test_a_missing_postgres_extra_is_named(command: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", HIDE_PSYCOPG, *command, "--database", "postgresql://h/rooms"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stderr
    assert "needs the [postgres] extra" in result.stderr
    assert "pip install 'games-rooms-kit[postgres]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_on_sqlite_files(tmp_path: Path) -> None:
    database = tmp_path / "rooms.db"
    result = rooms_kit("db", "upgrade", "--database", str(database))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{database}: layout version 1, up to date"
    assert database.exists()
    folder = rooms_kit("db", "upgrade", "--database", str(tmp_path))
    assert folder.returncode == 2
    assert f"rooms-kit db upgrade: error: argument --database: {tmp_path} is a folder" in (
        folder.stderr
    )
    assert "Traceback" not in folder.stderr


def test_a_database_outage_is_503_and_500_then_service_resumes(tmp_path: Path) -> None:
    """While PostgreSQL is down the server answers at once (health 503, requests 500 in
    Google's envelope), never hangs past its bounds, and serves again once it is back."""
    import httpx  # noqa: PLC0415

    from tests.reference_server.support import ServerProcess  # noqa: PLC0415

    cluster = Cluster()
    try:
        cluster.start()
        url = empty_postgres_database(cluster, "outage")
        with ServerProcess("--database", url, "--dev-tokens", cwd=tmp_path) as server:
            headers = {"Authorization": "Bearer dev-alice"}
            with httpx.Client(base_url=server.base_url, timeout=120) as http:
                created = http.post(
                    "/games/v1/rooms/create", json={"invitedPlayerIds": ["bob"]}, headers=headers
                )
                assert created.status_code == 200
                room_id = created.json()["roomId"]
                cluster.halt()
                assert http.get("/healthz").status_code == 503
                down = http.get(f"/games/v1/rooms/{room_id}", headers=headers)
                assert down.status_code == 500
                assert down.json()["error"]["errors"][0]["reason"] == "backendError"
                cluster.launch()
                deadline = time.monotonic() + 180  # the pool retries with a growing backoff
                while http.get("/healthz").status_code != 200:
                    assert time.monotonic() < deadline, "no recovery"
                    time.sleep(0.2)
                back = http.get(f"/games/v1/rooms/{room_id}", headers=headers)
                assert back.status_code == 200
                assert back.json()["roomId"] == room_id
            assert server.terminate() == 0
        assert not any("Traceback" in line for line in server.lines if '"level"' not in line)
    finally:
        cluster.stop()


def test_a_read_is_one_autocommit_statement_and_refuses_a_second(postgres: Cluster) -> None:
    """A read costs one round trip (no BEGIN and COMMIT around it), so it may hold only one
    statement: a second would see a later snapshot, and is refused instead."""
    url = empty_postgres_database(postgres, "one_statement_reads")
    store = PostgresStore(url, pool_size=1)
    try:
        with store.read() as tx:
            cursor = tx.execute("SELECT 1")
            assert cursor.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            with pytest.raises(StoreError, match="one statement"):
                tx.execute("SELECT 2")
        assert store.auth_mode() is None  # the connection went back to the pool in order
    finally:
        store.close()


def test_a_write_after_reads_on_the_same_connection_is_still_one_transaction(
    postgres: Cluster,
) -> None:
    """With one pooled connection, a read's autocommit must not leak into the next write: a
    write that fails half-way leaves nothing behind."""
    url = empty_postgres_database(postgres, "write_after_read")
    store = PostgresStore(url, pool_size=1)
    try:
        assert not store.has_tokens()
        with pytest.raises(RuntimeError), store.write() as tx:
            cursor = tx.execute("INSERT INTO tokens (digest, player_id) VALUES ('d1', 'alice')")
            assert cursor.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
            raise RuntimeError("fails after its first statement")
        assert not store.has_tokens()
        assert store.player_for_token_digest("d1") is None
    finally:
        store.close()

"""PostgreSQL on the event loop: the asynchronous pool (``postgres_loop``) keeps to its size and
its wait, never reuses a connection in a doubtful state, and survives a failed connect and a new
loop; the store's transactions run there (``on_loop``) with the same all-or-nothing outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from rooms_kit.reference_server import RoomService, postgres_loop
from rooms_kit.reference_server.errors import RoomNotFound
from rooms_kit.reference_server.on_loop import LoopRunner
from rooms_kit.reference_server.postgres_loop import LoopConnections, LoopPoolTimeout
from rooms_kit.reference_server.postgres_store import PostgresStore
from rooms_kit.reference_server.postgres_wire import WireConnection
from rooms_kit.reference_server.stores import upgrade
from tests.reference_server.postgres_cluster import Cluster, _free_port
from tests.reference_server.support import empty_postgres_database

HANG_SECONDS = 60
"""Only a guard against a hang, never a measurement."""

PID = "SELECT pg_backend_pid()"


def _run(main: Any) -> Any:
    async def guarded() -> Any:
        async with asyncio.timeout(HANG_SECONDS):
            return await main

    return asyncio.run(guarded())


Pools = Callable[..., LoopConnections]


@pytest.fixture
def pools() -> Iterator[Pools]:
    """Makes ``LoopConnections`` for a test and closes them all when it ends."""
    made: list[LoopConnections] = []

    def make(*args: Any, **kwargs: Any) -> LoopConnections:
        made.append(LoopConnections(*args, **kwargs))
        return made[-1]

    yield make
    for pool in made:
        pool.close()


@pytest.fixture(scope="module")
def url(postgres: Cluster) -> str:
    return empty_postgres_database(postgres, "on_loop")


def test_the_pool_never_opens_more_connections_than_its_size(url: str, pools: Pools) -> None:
    pool = pools(url, 2)

    async def main() -> list[list[tuple[Any, ...]]]:
        sleepy = "SELECT pg_backend_pid() FROM pg_sleep(0.02)"
        return await asyncio.gather(*(pool.rows(sleepy, ()) for _ in range(12)))

    answers = _run(main())
    assert len(answers) == 12
    assert len({rows[0][0] for rows in answers}) == 2


def test_a_caller_waits_for_a_connection_no_longer_than_the_pool_wait(
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    pools: Pools,
) -> None:
    monkeypatch.setattr(postgres_loop, "POOL_WAIT_SECONDS", 0.2)
    pool = pools(url, 1)

    async def main() -> list[tuple[Any, ...]]:
        held = await pool.take()
        with pytest.raises(LoopPoolTimeout, match="all 1 busy"):
            await pool.rows(PID, ())
        # the next caller's wait must outlast this test's pause, however long a loaded machine
        # stalls the loop (0.2 s left 0.15 s between the hand-over and the waiter's timeout)
        monkeypatch.setattr(postgres_loop, "POOL_WAIT_SECONDS", HANG_SECONDS)
        later = asyncio.ensure_future(pool.rows(PID, ()))
        await asyncio.sleep(0.05)
        pool.give_back(held)  # handed straight to the caller waiting now
        return await later

    rows = _run(main())
    assert len(rows) == 1


def test_a_connection_given_back_inside_a_transaction_is_closed_not_reused(
    url: str, pools: Pools
) -> None:
    pool = pools(url, 1)

    async def main() -> tuple[int, int, bool]:
        first = await pool.take()
        await first.rows("BEGIN")
        before = first.backend_pid
        pool.give_back(first)  # inside a transaction: closed, so nothing it held leaks on
        after = (await pool.rows(PID, ()))[0][0]
        return before, after, first.closed

    before, after, closed = _run(main())
    assert closed
    assert before != after


def test_a_failed_connect_frees_its_place_for_the_next_caller(pools: Pools) -> None:
    nobody = f"postgresql://postgres@127.0.0.1:{_free_port()}/nothing"
    pool = pools(nobody, 1)

    async def main() -> list[BaseException]:
        failures: list[BaseException] = []
        for _ in range(3):  # the third would wait forever if a failure kept its place
            try:
                await pool.rows(PID, ())
            except psycopg.OperationalError as exc:
                failures.append(exc)
        return failures

    failures = _run(main())
    assert len(failures) == 3


def test_connections_of_an_earlier_event_loop_are_not_used_by_the_next(
    url: str, pools: Pools
) -> None:
    pool = pools(url, 1)
    first = _run(pool.rows(PID, ()))[0][0]
    second = _run(pool.rows(PID, ()))[0][0]  # a new loop: a new connection
    assert first != second


def _settings(url: str, key: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT value FROM settings WHERE key = %s", (key,)).fetchall()


def test_a_write_on_the_loop_that_fails_half_way_leaves_nothing_and_the_pool_serves_on(
    url: str,
) -> None:
    store = PostgresStore(url, pool_size=1)
    service = RoomService(store)
    runner = LoopRunner()

    def half_done() -> None:
        with store.write() as tx:
            tx.execute("INSERT INTO settings (key, value) VALUES ('half', 'done')")
            raise ValueError("refused after the first statement")

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        with pytest.raises(ValueError, match="refused"):
            await runner.call(half_done)
        created = await runner.call(service.create, "alice", {"invitedPlayerIds": ["bob"]})
        with pytest.raises(RoomNotFound):  # refused inside a write transaction
            await runner.call(service.join, "mallory", created["roomId"], {})
        joined = await runner.call(service.join, "bob", created["roomId"], {})
        return created, joined

    try:
        created, joined = _run(main())
    finally:
        store.close()
    assert _settings(url, "half") == []
    assert created["roomId"] == joined["roomId"]
    assert joined["status"] == "ROOM_CONNECTING"  # both players joined, none connected yet


def test_a_cancelled_write_on_the_loop_leaves_nothing_and_the_pool_serves_on(url: str) -> None:
    store = PostgresStore(url, pool_size=1)
    runner = LoopRunner()

    def slow_write() -> None:
        with store.write() as tx:
            tx.execute("INSERT INTO settings (key, value) VALUES ('cancelled', 'write')")
            tx.execute("SELECT pg_sleep(0.5)")

    async def main() -> tuple[bool, str | None]:
        call = asyncio.ensure_future(runner.call(slow_write))
        await asyncio.sleep(0.2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        return await runner.call(store.has_tokens), await runner.call(store.auth_mode)

    try:
        served = _run(main())  # one connection: it had to be replaced for these
    finally:
        store.close()
    assert served == (False, None)
    # The connection was closed mid-statement: PostgreSQL rolls its transaction back.
    with psycopg.connect(url) as connection:
        connection.execute("SELECT pg_sleep(0.6)")
    assert _settings(url, "cancelled") == []


def test_a_served_worker_keeps_to_its_connection_budget(postgres: Cluster, tmp_path: Any) -> None:
    """``--pool-size N``: under 24 concurrent requests a server process holds at most N
    connections for requests, 2 for the clock and the 1 it opened at start-up (docs/deploying.md
    counts N + 3 per worker), and every request is answered."""
    import httpx  # noqa: PLC0415

    from tests.reference_server.support import ServerProcess  # noqa: PLC0415

    url = empty_postgres_database(postgres, "budget")
    with ServerProcess(
        "--database", url, "--dev-tokens", "--pool-size", "2", cwd=tmp_path
    ) as server:

        async def load() -> list[int]:
            headers = {"Authorization": "Bearer dev-alice"}
            async with httpx.AsyncClient(base_url=server.base_url, timeout=HANG_SECONDS) as http:

                async def one(number: int) -> int:
                    if number % 2:
                        answer = await http.get("/games/v1/rooms", headers=headers)
                    else:
                        answer = await http.post(
                            "/games/v1/rooms/create",
                            json={"invitedPlayerIds": ["bob"]},
                            headers=headers,
                        )
                    return answer.status_code

                return await asyncio.gather(*(one(n) for n in range(24)))

        statuses = _run(load())
        with psycopg.connect(url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'rooms-kit%'"
            ).fetchone()
        assert server.terminate() == 0
    assert statuses == [200] * 24
    assert row is not None and 3 <= row[0] <= 2 + 3, row


def _terminate_backends(url: str, application_prefix: str) -> int:
    """End the backends of our own connections (what a PostgreSQL restart does to them) and
    wait until they are gone; how many there were."""
    with psycopg.connect(url, autocommit=True) as connection:
        pids = [
            pid
            for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name LIKE %s AND pid <> pg_backend_pid()",
                (application_prefix + "%",),
            )
        ]
        for pid in pids:
            connection.execute("SELECT pg_terminate_backend(%s, %s)", (pid, HANG_SECONDS * 1000))
    return len(pids)


def test_idle_connections_the_server_ended_are_not_lent_again(url: str, pools: Pools) -> None:
    """After PostgreSQL ended the pool's idle connections (a restart, an administrator), the
    next callers get new connections instead of a failure on each dead one."""
    pool = pools(url, 2, name="rooms-kit ended")

    async def main() -> tuple[int, list[list[tuple[Any, ...]]]]:
        sleepy = "SELECT pg_backend_pid() FROM pg_sleep(0.02)"
        await asyncio.gather(pool.rows(sleepy, ()), pool.rows(sleepy, ()))  # two idle now
        ended = await asyncio.to_thread(_terminate_backends, url, "rooms-kit ended")
        return ended, [await pool.rows("SELECT 1", ()) for _ in range(3)]

    ended, answers = _run(main())
    assert ended == 2
    assert answers == [[(1,)]] * 3


def test_a_write_after_the_server_ended_every_connection_succeeds(url: str) -> None:
    """Both of the store's loop pools (requests and the clock) open new connections when
    PostgreSQL has ended their idle ones: the first write afterwards is served."""
    store = PostgresStore(url, pool_size=2)
    service = RoomService(store)
    runner = LoopRunner()

    async def main() -> tuple[int, dict[str, Any]]:
        await runner.call(service.create, "alice", {"invitedPlayerIds": ["bob"]})
        ended = await asyncio.to_thread(_terminate_backends, url, "rooms-kit")
        return ended, await runner.call(service.create, "carol", {"invitedPlayerIds": ["dave"]})

    try:
        ended, created = _run(main())
    finally:
        store.close()
    assert ended >= 2  # a connection for the write and one for the clock, at least
    assert created["status"] == "ROOM_INVITING"


def test_a_freed_place_goes_to_the_caller_waiting_longest(url: str, pools: Pools) -> None:
    """A connection closed rather than given back frees its place for the first waiter, not for
    a caller that arrives meanwhile: otherwise that waiter goes back to the end of the queue
    (with a fresh wait), and a stream of newcomers could keep it waiting for ever."""
    pool = pools(url, 1)
    served: list[str] = []

    async def take_and_hold(who: str) -> None:
        connection = await pool.take()
        served.append(who)
        await asyncio.sleep(0.01)
        pool.give_back(connection)

    async def main() -> None:
        held = await pool.take()
        waiting = asyncio.ensure_future(take_and_hold("waiting"))
        await asyncio.sleep(0.05)  # queued now
        newcomer = asyncio.ensure_future(take_and_hold("newcomer"))  # runs before the waiter
        pool.drop(held)
        await asyncio.gather(waiting, newcomer)

    _run(main())
    assert served == ["waiting", "newcomer"]


def _stamp(room: dict[str, Any]) -> int:
    return int(room["lastUpdateDetails"]["modifiedTimestampMillis"])


@pytest.mark.parametrize("given_in", ["address", "PGOPTIONS"])
def test_options_of_the_address_reach_the_clock_connections_too(
    postgres: Cluster, monkeypatch: pytest.MonkeyPatch, given_in: str
) -> None:
    """An address (or ``PGOPTIONS``) may carry its own server options, here the schema the
    tables live in; the clock's connections add theirs to those rather than replacing them,
    so writes find the clock on the event loop and in threads alike."""
    base = postgres.create_database(f"own_options_{given_in.lower()}")
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA rooms_kit_here")
    if given_in == "address":
        url = base + "?options=-csearch_path%3Drooms_kit_here"
    else:
        url = base
        monkeypatch.setenv("PGOPTIONS", "-csearch_path=rooms_kit_here")
    upgrade(url)
    store = PostgresStore(url, pool_size=1)
    service = RoomService(store)

    async def on_loop() -> dict[str, Any]:
        return await LoopRunner().call(service.create, "alice", {"invitedPlayerIds": ["bob"]})

    try:
        in_thread = service.create("carol", {"invitedPlayerIds": ["dave"]})
        looped = _run(on_loop())
    finally:
        store.close()
    assert (in_thread["status"], looped["status"]) == ("ROOM_INVITING", "ROOM_INVITING")
    assert _stamp(looped) > _stamp(in_thread)  # one clock, ticked from both sides


async def _mute_statement(cleaned: list[str]) -> None:
    """A statement whose cancellation waits for a server that never answers (psycopg's when
    its libpq is older than 17: the request to cancel runs in a thread with no limit), until
    it is cancelled once more."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append("second cancellation")
        raise


def test_a_statement_whose_cancellation_never_ends_still_fails_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres_loop, "STATEMENT_SECONDS", 0.05)
    monkeypatch.setattr(postgres_loop, "CANCEL_SECONDS", 0.05)
    cleaned: list[str] = []

    async def main() -> None:
        statement = asyncio.ensure_future(postgres_loop.answered(_mute_statement(cleaned)))
        done, _ = await asyncio.wait({statement}, timeout=HANG_SECONDS)
        assert statement in done, "answered waited for the cancellation without a limit"
        with pytest.raises(postgres_loop.LoopStatementTimeout):
            statement.result()
        assert asyncio.current_task() is not None

    asyncio.run(main())
    assert cleaned == ["second cancellation"]


def test_a_caller_cancelled_during_a_statement_or_its_cancellation_is_told_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cancellation from outside (the server stopping, a health check given up on) stays a
    cancellation, before the bound (whose own cancellation then ends a wait that absorbed it)
    and while the bound's cancellation runs; it is not turned into ``LoopStatementTimeout``."""
    monkeypatch.setattr(postgres_loop, "CANCEL_SECONDS", 3600.0)

    async def cancelled_after(bound: float, seconds: float) -> BaseException | None:
        monkeypatch.setattr(postgres_loop, "STATEMENT_SECONDS", bound)
        statement = asyncio.ensure_future(postgres_loop.answered(_mute_statement([])))
        await asyncio.sleep(seconds)
        statement.cancel()
        await asyncio.wait({statement}, timeout=HANG_SECONDS)
        assert statement.done()
        return None if statement.cancelled() else statement.exception()

    async def main() -> None:
        assert await cancelled_after(0.2, 0.05) is None  # before the bound
        assert await cancelled_after(0.02, 0.1) is None  # while the bound cancels the statement

    asyncio.run(main())


def test_a_statement_answered_in_time_is_not_cancelled_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres_loop, "STATEMENT_SECONDS", 0.05)
    monkeypatch.setattr(postgres_loop, "CANCEL_SECONDS", 0.05)

    async def main() -> str:
        answer = await postgres_loop.answered(asyncio.sleep(0, "rows"))
        await asyncio.sleep(0.2)  # past both bounds: nothing of them is left to fire
        return answer

    assert asyncio.run(main()) == "rows"


def test_a_write_of_the_service_takes_two_or_three_round_trips(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BEGIN, the locks and the saves travel with the next statement that reads, or with the
    COMMIT; the clock has its own connection."""
    trips: list[str] = []
    read = WireConnection._read

    async def counted(self: WireConnection, sent: Any) -> Any:
        trips.append("trip")
        return await read(self, sent)

    monkeypatch.setattr(WireConnection, "_read", counted)
    store = PostgresStore(url, pool_size=2)
    service = RoomService(store)
    runner = LoopRunner()

    async def main() -> list[int]:
        counts = []
        created = await runner.call(service.create, "alice", {"invitedPlayerIds": ["bob"]})
        counts.append(len(trips))
        await runner.call(service.join, "bob", created["roomId"], {})
        counts.append(len(trips) - sum(counts))
        await runner.call(service.create, "carol", {"invitedPlayerIds": ["dan"], "requestId": "7"})
        counts.append(len(trips) - sum(counts))
        await runner.call(service.create, "carol", {"invitedPlayerIds": ["dan"], "requestId": "7"})
        counts.append(len(trips) - sum(counts))
        return counts

    try:
        counts = _run(main())
    finally:
        store.close()
    # create: clock, [BEGIN, save, COMMIT]; join: [BEGIN, lock], clock, [save, COMMIT];
    # create with a requestId: [BEGIN, lock, look-up], clock, [save, remember, COMMIT];
    # its retry: [BEGIN, lock, look-up], [load], [COMMIT]
    assert counts == [2, 3, 3, 3]


def test_a_save_that_fails_at_commit_fails_the_write_and_leaves_nothing(url: str) -> None:
    """A queued save's failure surfaces with the COMMIT it travels with: the call fails with
    PostgreSQL's error, the room stays as it was, and the pool's one connection serves on."""
    store = PostgresStore(url, pool_size=1)
    service = RoomService(store)
    runner = LoopRunner()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE FUNCTION refuse_updates() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'updates refused for this test'; END $$"
        )

    def refuse(on: bool) -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            if on:
                connection.execute(
                    "CREATE TRIGGER refuse BEFORE UPDATE ON rooms"
                    " FOR EACH ROW EXECUTE FUNCTION refuse_updates()"
                )
            else:
                connection.execute("DROP TRIGGER refuse ON rooms")

    async def main() -> tuple[str, str]:
        created = await runner.call(service.create, "alice", {"invitedPlayerIds": ["bob"]})
        refuse(True)
        try:
            with pytest.raises(psycopg.errors.RaiseException, match="updates refused"):
                await runner.call(service.join, "bob", created["roomId"], {})
        finally:
            refuse(False)
        after = await runner.call(service.get, "alice", created["roomId"])
        joined = await runner.call(service.join, "bob", created["roomId"], {})
        return after["status"], joined["status"]

    try:
        statuses = _run(main())
    finally:
        store.close()
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("DROP FUNCTION refuse_updates()")
    assert statuses == ("ROOM_INVITING", "ROOM_CONNECTING")

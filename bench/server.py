"""Benchmark of the reference server over loopback, beside a ceiling with as many processes.

For each setup (SQLite or PostgreSQL, one or two worker processes) two servers run as child
processes, each on 127.0.0.1 with a free port:

- ``rooms-kit serve --workers N`` on a fresh SQLite file (WAL, synchronous=FULL) or a fresh
  database of a throwaway PostgreSQL cluster (fsync on) started here; access log on, to a pipe
  that is read and thrown away;
- the *ceiling*: a minimal Starlette endpoint on the same uvicorn, in N processes on one socket,
  that answers every request with a fixed room (the very bytes the reference server returned for
  the benchmarked room), reading the request body but doing nothing else.

A small asyncio HTTP/1.1 client (keep-alive connections, no library overhead) sends the same
requests to both in the same run: ``get``, ``create``, and the mixed flow (create, list, join,
get, reportStatus, leave twice). ``pgbench`` measures PostgreSQL alone on the statements of one
create. Results go to standard output and to this script's section of docs/performance.md (only
that section is rewritten).

Run: ``make bench`` or ``.venv/bin/python bench/server.py [--requests N] [--connections C]``.
A part of the run, for A/B comparisons while working: ``--setups sqlite:1,postgresql:2`` (store
and worker count of each setup), ``--operations mixed`` and ``--quick`` (2 rounds of 1,000
requests, no service-alone or pgbench figures); a partial run does not touch
docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PERFORMANCE = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench/server.py: begin -->"
END = "<!-- bench/server.py: end -->"
LOAD_AT_START = os.getloadavg()[0]  # before any of the benchmark's own processes
STARTED = datetime.now(UTC)


# -- the ceiling ----------------------------------------------------------------------------------


def serve_ceiling(payload_file: str, workers: int) -> None:
    """Child-process mode: run the fixed-room Starlette app in ``workers`` processes listening
    on one port as ``serve --workers`` does (a socket per process where the platform spreads
    connections over them) and print the bound port."""
    import ctypes  # noqa: PLC0415
    import signal  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import Response  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    payload = Path(payload_file).read_bytes()

    async def fixed_room(request: Request) -> Response:
        await request.body()
        return Response(payload, media_type="application/json; charset=UTF-8")

    from rooms_kit.reference_server.serving import bind_workers  # noqa: PLC0415

    app = Starlette(routes=[Route("/{path:path}", fixed_room, methods=["GET", "POST"])])
    sockets = bind_workers("127.0.0.1", 0, workers)  # the sockets serve --workers would use
    sock = sockets[0]
    for slot in range(1, workers):
        if os.fork() == 0:  # one more process, on its slot's socket; it ends with its parent
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)
            sock = sockets[slot]
            break
    else:
        print(json.dumps({"event": "listening", "port": sock.getsockname()[1]}), flush=True)
    # h11 like the reference server's own protocol (uvicorn would pick httptools when installed)
    config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="off", http="h11")
    uvicorn.Server(config).run(sockets=[sock])


# -- child processes ------------------------------------------------------------------------------


def _discard(stream: Any) -> None:
    for _ in stream:
        pass


class Child:
    """A server process that announces its port as a JSON line with ``"event": "listening"``."""

    def __init__(self, command: list[str], *, announce_on_stderr: bool, cwd: Path) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if announce_on_stderr else subprocess.PIPE,
            stderr=subprocess.PIPE if announce_on_stderr else subprocess.DEVNULL,
            text=True,
        )
        stream = self.process.stderr if announce_on_stderr else self.process.stdout
        assert stream is not None
        self._stream = stream
        for line in stream:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == "listening":
                self.port = int(record["port"])
                break
        else:
            self.process.wait()
            raise SystemExit(f"server did not start: {' '.join(command)}")
        # Keep reading the log so the pipe never fills up; lines are thrown away.
        self._thread = threading.Thread(target=_discard, args=(stream,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM to our own child
        self.process.wait()
        self._thread.join()
        self._stream.close()


# -- the load generator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes
    token: str

    def encode(self) -> bytes:
        head = (
            f"{self.method} {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Length: {len(self.body)}\r\n"
        )
        if self.body:
            head += "Content-Type: application/json\r\n"
        return head.encode() + b"\r\n" + self.body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    length = int(match.group(1)) if match else 0
    return status, await reader.readexactly(length)


async def _load(port: int, request: Call, total: int, connections: int) -> Result:
    raw = request.encode()
    remaining = total
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                status, _ = await _exchange(reader, writer, raw)
                latencies.append(time.perf_counter() - started)
                failures += status != 200
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return Result(total / elapsed, sorted(latencies), failures)


@dataclass(frozen=True)
class Result:
    per_second: float
    latencies: list[float]
    failures: int
    cpu_ms: float = 0.0
    """CPU time the server's processes spent per request (user + system, all its processes)."""
    client_cpu_ms: float = 0.0
    """CPU time the load generator (this process) spent per request."""
    database_cpu_ms: float = 0.0
    """CPU time PostgreSQL's processes spent per request (0 for SQLite and the ceiling)."""
    peak_mib: float = 0.0
    """Peak resident memory of the server's processes since they started (summed)."""

    def percentile(self, share: float) -> float:
        index = min(len(self.latencies) - 1, round(share * (len(self.latencies) - 1)))
        return self.latencies[index] * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000


def _participant_of(room: dict[str, Any], player: str) -> str:
    for entry in room.get("participants", []):
        if entry.get("player", {}).get("playerId") == player:
            return str(entry["id"])
    return ""


async def _load_flow(port: int, total: int, connections: int) -> Result:
    """The mixed flow, over and over on each connection: alice creates a room inviting bob, bob
    lists his invitations and joins, alice gets the room and reports bob connected, both leave."""
    remaining = total
    latencies: list[float] = []
    failures = 0

    async def worker(number: int) -> None:
        nonlocal remaining, failures
        alice, bob = f"a{number}", f"b{number}"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def call(method: str, path: str, token: str, body: Any = None) -> bytes:
            nonlocal remaining, failures
            remaining -= 1
            raw = Call(
                method, path, b"" if body is None else json.dumps(body).encode(), f"dev-{token}"
            ).encode()
            started = time.perf_counter()
            status, reply = await _exchange(reader, writer, raw)
            latencies.append(time.perf_counter() - started)
            failures += status not in (200, 204)
            return reply

        try:
            while remaining > 0:
                room = json.loads(
                    await call("POST", "/games/v1/rooms/create", alice, {"invitedPlayerIds": [bob]})
                )
                room_id = room["roomId"]
                await call("GET", "/games/v1/rooms", bob)
                joined = json.loads(await call("POST", f"/games/v1/rooms/{room_id}/join", bob, {}))
                await call("GET", f"/games/v1/rooms/{room_id}", alice)
                update = {"participantId": _participant_of(joined, bob) or "p_x"}
                update["status"] = "CONNECTION_ESTABLISHED"
                await call(
                    "POST",
                    f"/games/v1/rooms/{room_id}/reportstatus",
                    alice,
                    {"updates": [update]},
                )
                await call("POST", f"/games/v1/rooms/{room_id}/leave", alice, {})
                await call("POST", f"/games/v1/rooms/{room_id}/leave", bob, {})
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(connections)))
    elapsed = time.perf_counter() - started
    return Result(len(latencies) / elapsed, sorted(latencies), failures)


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    found = []
    pending = [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def _process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live descendants."""
    total = 0.0
    for current in _process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def _process_tree_peak_mib(pid: int) -> float:
    """The peak resident memory (``VmHWM``) of ``pid`` and each live descendant, summed, in MiB:
    an upper bound of what the server held at once since it started."""
    total_kb = 0
    for current in _process_tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        total_kb += int(match.group(1)) if match else 0
    return total_kb / 1024


def measure(
    port: int,
    pid: int,
    request: Call | None,
    total: int,
    connections: int,
    database_pid: int | None = None,
) -> Result:
    """``request`` over and over, or the mixed flow when it is ``None``, after a warm-up; with
    the CPU time the server (process ``pid`` and its workers) spent on it, and PostgreSQL
    (its postmaster ``database_pid`` and the backends under it) when given."""
    warm = max(total // 10, connections * 7)

    def load(count: int) -> Result:
        if request is None:
            return asyncio.run(_load_flow(port, count, connections))
        return asyncio.run(_load(port, request, count, connections))

    load(warm)
    before, client = _process_tree_cpu(pid), os.times()
    database = _process_tree_cpu(database_pid) if database_pid else 0.0
    result = load(total)
    spent = _process_tree_cpu(pid) - before
    if database_pid:
        database = _process_tree_cpu(database_pid) - database
    now = os.times()
    sent = now.user + now.system - client.user - client.system
    count = max(len(result.latencies), 1)
    return replace(
        result,
        cpu_ms=spent * 1000 / count,
        client_cpu_ms=sent * 1000 / count,
        database_cpu_ms=database * 1000 / count,
        peak_mib=_process_tree_peak_mib(pid),
    )


# -- the service alone ----------------------------------------------------------------------------


def fsync_latency(folder: Path, count: int = 200) -> tuple[float, float]:
    """Milliseconds an fsync of a 4 KiB append takes in ``folder`` (p50, p99): what every SQLite
    commit and every PostgreSQL WAL flush waits for on this disk."""
    path = folder / "fsync-probe"
    times: list[float] = []
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(count):
            os.write(descriptor, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(descriptor)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(descriptor)
        path.unlink()
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)]


def service_alone(databases: dict[str, str], count: int) -> dict[str, float]:
    """Milliseconds per call of ``RoomService`` itself (no HTTP), on each store."""
    from rooms_kit.reference_server import RoomService  # noqa: PLC0415
    from rooms_kit.reference_server.stores import open_store  # noqa: PLC0415

    costs: dict[str, float] = {}
    for label, database in databases.items():
        store = open_store(database)
        try:
            service = RoomService(store)
            room_id = service.create("alice", {"invitedPlayerIds": ["bob"]})["roomId"]
            started = time.perf_counter()
            for _ in range(count):
                service.get("alice", room_id)
            costs[f"get/{label}"] = (time.perf_counter() - started) / count * 1000
            started = time.perf_counter()
            for _ in range(count):
                service.create("alice", {"invitedPlayerIds": ["bob"], "variant": 1})
            costs[f"create/{label}"] = (time.perf_counter() - started) / count * 1000
        finally:
            store.close()
    return costs


# -- PostgreSQL alone -----------------------------------------------------------------------------

PGBENCH_CREATE = """\\set id random(1, 9000000000000000)
BEGIN;
SET LOCAL synchronous_commit = off;
UPDATE clock SET value = greatest(value + 1, 0) RETURNING value;
COMMIT;
BEGIN;
SELECT pg_advisory_xact_lock(:id);
SELECT room_id FROM create_requests WHERE application_id = 'bench' AND player_id = 'p' AND request_id = :id;
INSERT INTO rooms VALUES ('r' || :id, 'bench', NULL, :id, 0, repeat('x', 900));
INSERT INTO memberships VALUES ('bob', 'r' || :id, 'bench', :id, true);
INSERT INTO create_requests VALUES ('bench', 'p', :id, 'r' || :id);
COMMIT;
"""


def pgbench_creates(cluster: Any, seconds: int, clients: int) -> float:
    """Transactions per second of PostgreSQL alone doing what one ``create`` asks of it (the
    clock's own transaction, then the room's: lock, look-up, three inserts, durable commit)."""
    url = cluster.create_database("pgbench_creates")
    from rooms_kit.reference_server.stores import upgrade  # noqa: PLC0415

    upgrade(url)
    script = cluster.folder / "create.sql"
    script.write_text(PGBENCH_CREATE, encoding="utf-8")
    os.chmod(script, 0o644)
    if cluster._as:  # the script must be readable by the cluster's user
        shutil.chown(script, "postgres")
    result = subprocess.run(
        [
            *cluster._as,
            str(cluster.bin / "pgbench"),
            "-n",
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            "postgres",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            str(script),
            "pgbench_creates",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 120,
    )
    match = re.search(r"tps = ([0-9.]+)", result.stdout)
    if result.returncode != 0 or match is None:
        raise SystemExit(f"pgbench failed:\n{result.stdout}{result.stderr}")
    return float(match.group(1))


# -- the run --------------------------------------------------------------------------------------


def _prepare(port: int) -> tuple[str, bytes]:
    """Create the benchmarked room on the reference server; return its id and its JSON."""

    async def go() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        create = Call(
            "POST", "/games/v1/rooms/create", b'{"invitedPlayerIds": ["bob"]}', "dev-alice"
        )
        status, body = await _exchange(reader, writer, create.encode())
        writer.close()
        await writer.wait_closed()
        if status != 200:
            raise SystemExit(f"create failed with {status}: {body[:200]!r}")
        return status, body

    _, body = asyncio.run(go())
    room = json.loads(body)
    return str(room["roomId"]), body


@dataclass(frozen=True)
class Setup:
    """One deployment measured: a store and a number of worker processes."""

    store: str
    workers: int
    operations: tuple[str, ...]
    wide_create: bool = False


SETUPS = (
    Setup("sqlite", 1, ("get", "create", "mixed"), wide_create=True),
    Setup("postgresql", 1, ("get", "create", "mixed")),
    Setup("postgresql", 2, ("get", "create", "mixed"), wide_create=True),
    Setup("sqlite", 2, ("mixed",)),
)
WIDE_CONNECTIONS = 64
OPERATIONS = ("get", "create", "mixed")


def parse_setups(text: str) -> tuple[Setup, ...]:
    """``sqlite:1,postgresql:2`` as setups: the default plan's entry when it has that store and
    worker count (its operations and wide ``create``), otherwise every operation."""
    chosen: list[Setup] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        store, _, workers = item.partition(":")
        if store not in ("sqlite", "postgresql") or not workers.isdigit():
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected STORE:WORKERS with STORE sqlite or postgresql, e.g. sqlite:1"
            )
        count = int(workers)
        if not 1 <= count <= 8:
            raise argparse.ArgumentTypeError(f"{item!r}: between 1 and 8 workers")
        known = [s for s in SETUPS if (s.store, s.workers) == (store, count)]
        chosen.append(known[0] if known else Setup(store, count, OPERATIONS))
    if not chosen:
        raise argparse.ArgumentTypeError("no setup given")
    return tuple(chosen)


def parse_operations(text: str) -> tuple[str, ...]:
    chosen = tuple(filter(None, (part.strip() for part in text.split(","))))
    unknown = [name for name in chosen if name not in (*OPERATIONS, "wide")]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"operations are among {', '.join(OPERATIONS)} and wide (create at "
            f"{WIDE_CONNECTIONS} connections); got {text!r}"
        )
    return chosen


def _record(rows: list[dict[str, Any]], **row: Any) -> None:
    rows.append(row)
    result: Result = row["result"]
    print(
        f"{row['operation']:<7} {row['server']:<28} {row['connections']:>3} conn "
        f"{result.per_second:>9,.0f} req/s  p50 {result.percentile(0.5):6.2f} ms  "
        f"p90 {result.percentile(0.9):6.2f} ms  p99 {result.percentile(0.99):6.2f} ms  "
        f"CPU {result.cpu_ms:.3f} ms/request, client {result.client_cpu_ms:.3f}"
        + (f", PostgreSQL {result.database_cpu_ms:.3f}" if result.database_cpu_ms else "")
        + f", peak {result.peak_mib:,.0f} MiB",
        flush=True,
    )


def run(
    total: int,
    connections: int,
    rounds: int,
    *,
    setups: tuple[Setup, ...] = SETUPS,
    operations: tuple[str, ...] | None = None,
    alone_too: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Measure ``setups`` (only ``operations`` of each when given; ``wide`` stands for the wide
    ``create``), with the service-alone and pgbench figures when ``alone_too``."""
    sys.path.insert(0, str(ROOT))
    from rooms_kit.reference_server.stores import upgrade  # noqa: PLC0415
    from tests.reference_server.postgres_cluster import Cluster  # noqa: PLC0415

    python = sys.executable
    rows: list[dict[str, Any]] = []
    alone: dict[str, float] = {}
    cluster = None
    if alone_too or any(setup.store == "postgresql" for setup in setups):
        cluster = Cluster(durable=True)  # fsync on, like a real primary
        cluster.start()
    try:
        with tempfile.TemporaryDirectory(prefix="rooms-bench-") as folder:
            work = Path(folder)
            fsync_p50, fsync_p99 = fsync_latency(work)
            print(f"fsync of 4 KiB: p50 {fsync_p50:.2f} ms, p99 {fsync_p99:.2f} ms", flush=True)
            if alone_too and cluster is not None:
                alone_pg = cluster.create_database("alone")
                upgrade(alone_pg)
                alone = service_alone(
                    {"file": str(work / "alone.db"), "memory": ":memory:", "postgresql": alone_pg},
                    min(total, 1000),
                )
                print(
                    "service alone: "
                    + ", ".join(f"{key} {value:.3f} ms" for key, value in alone.items()),
                    flush=True,
                )
                alone["pgbench"] = pgbench_creates(cluster, 10, 8)
                print(f"pgbench create transactions: {alone['pgbench']:,.0f}/s", flush=True)
            alone |= {"fsync_p50": fsync_p50, "fsync_p99": fsync_p99}
            for number, planned in enumerate(setups):
                setup = planned
                if operations is not None:
                    setup = replace(
                        planned,
                        operations=tuple(name for name in operations if name != "wide"),
                        wide_create="wide" in operations,
                    )
                if setup.store == "sqlite":
                    database = f"bench{number}.db"
                else:
                    assert cluster is not None
                    database = cluster.create_database(f"bench{number}")
                    upgrade(database)
                database_pid = cluster.pid if setup.store == "postgresql" and cluster else None
                _measure_setup(
                    rows, setup, database, work, python, total, connections, rounds, database_pid
                )
    finally:
        if cluster is not None:
            cluster.stop()
    return rows, alone


def _measure_setup(
    rows: list[dict[str, Any]],
    setup: Setup,
    database: str,
    work: Path,
    python: str,
    total: int,
    connections: int,
    rounds: int,
    database_pid: int | None = None,
) -> None:
    server = Child(
        [
            python,
            "-m",
            "rooms_kit.cli.main",
            "serve",
            "--port",
            "0",
            "--database",
            database,
            "--workers",
            str(setup.workers),
            "--dev-tokens",
        ],
        announce_on_stderr=True,
        cwd=work,
    )
    label = f"rooms-kit serve {setup.store} x{setup.workers}"
    try:
        room_id, room_json = _prepare(server.port)
        (work / "room.json").write_bytes(room_json)
        ceiling = Child(
            [
                python,
                str(Path(__file__).resolve()),
                "--serve-ceiling",
                str(work / "room.json"),
                "--ceiling-workers",
                str(setup.workers),
            ],
            announce_on_stderr=False,
            cwd=work,
        )
        try:
            calls: dict[str, Call | None] = {
                "get": Call("GET", f"/games/v1/rooms/{room_id}", b"", "dev-alice"),
                "create": Call(
                    "POST",
                    "/games/v1/rooms/create",
                    b'{"invitedPlayerIds": ["bob"], "variant": 1}',
                    "dev-alice",
                ),
                "mixed": None,
            }
            plan = [(name, connections) for name in setup.operations]
            if setup.wide_create:
                plan.append(("create", WIDE_CONNECTIONS))
            for name, width in plan:
                targets = (
                    (f"ceiling x{setup.workers}", ceiling),
                    (label, server),
                )
                rounds_of: dict[str, list[Result]] = {target: [] for target, _ in targets}
                # Rounds alternate between the two servers and the best round of each counts
                # (the fastest, and the least CPU per request), so that a burst of other work on
                # the machine does not decide a ratio.
                for _ in range(rounds):
                    for target, child in targets:
                        result = measure(
                            child.port,
                            child.process.pid,
                            calls[name],
                            total,
                            width,
                            database_pid if child is server else None,
                        )
                        if result.failures:
                            raise SystemExit(f"{target} {name}: {result.failures} failed requests")
                        rounds_of[target].append(result)
                best = {
                    target: replace(
                        max(results, key=lambda r: r.per_second),
                        cpu_ms=min(r.cpu_ms for r in results),
                        client_cpu_ms=min(r.client_cpu_ms for r in results),
                        database_cpu_ms=min(r.database_cpu_ms for r in results),
                        peak_mib=max(r.peak_mib for r in results),
                    )
                    for target, results in rounds_of.items()
                }
                for target, _child in targets:
                    _record(
                        rows,
                        operation=name,
                        server=target,
                        setup=setup,
                        connections=width,
                        result=best[target],
                    )
        finally:
            ceiling.stop()
    finally:
        server.stop()


PROFILE_NOTES = (
    "### Where the time goes (profiled with py-spy, 2026-11-30 and 2026-12-01)",
    "",
    "`rooms-kit serve` sampled at 200 Hz (`py-spy record --gil`, so only the thread running "
    "Python counts) under 8 connections of `get`, `create` and the mixed flow, on a SQLite file "
    "and on PostgreSQL. In order of cost, for the hot path:",
    "",
    "1. **uvicorn's HTTP/1.1 parser (h11, pure Python)** and its protocol: about a quarter of "
    "the samples. The ceiling pays the same, so it is not part of the gap; a C parser "
    "(`httptools`) would raise both rates and lower every ratio.",
    "2. **The access log**: lines go out in batches from a background thread "
    "(`rooms_kit/reference_server/access_log.py`), each built with orjson and a cached second. "
    "What was left was `logging` itself: a `LogRecord` per request (`os.path.basename` of the "
    "caller's file included), 5-6% of the mixed flow's samples. When the access logger is set "
    "up as `serve` sets it up (one batched handler that writes messages as they are, no "
    "filters), the finished line now goes straight to the handler; any other set-up (pytest's "
    "`caplog`, extra handlers) still goes through `logging`.",
    "3. **pydantic both ways, in the generated stub**: gone since the stub's `WireRoomsHandler` "
    "passes the checked dicts straight through.",
    "4. **The service and the room document**: the stored JSON was decoded and encoded with "
    "`json` (7.4 and 10.6 µs for a room of two) and every write took two `repr`s of the room "
    "to see whether anything changed. orjson now writes and reads the document (1.7 and 2.2 "
    "µs; `json` stays the fallback for what orjson refuses, such as a lone surrogate), and the "
    "change check compares two snapshots with `==`.",
    "5. **Thread hops**: reads of a SQLite file run on the event loop, its writes go to the "
    "group-commit thread. PostgreSQL calls ran in threads: first anyio's pool (about 45 µs of "
    "event-loop CPU per call at 8 connections), then a fixed set fed by one `SimpleQueue` "
    "(about 8 µs). Even so, a PostgreSQL `get` cost the server 0.75 ms of CPU and a `create` "
    "1.1 ms, a third of it system time: the interpreter lock changed hands at every round trip "
    "(five for a write). The service now runs on the event loop itself, in a greenlet per "
    "call, and awaits psycopg's asynchronous connections (`on_loop.py`, `postgres_loop.py`): "
    "A/B on this machine, 0.52 against 0.75 ms for a `get` (2,100 against 1,500 requests/s) "
    "and 0.88 against 1.05 ms for a `create` (1,250 against 1,050 requests/s), system time "
    "halved. `:memory:` keeps the thread hand-over.",
    "6. **PostgreSQL round trips and statements**: a `get` waited for three (BEGIN, SELECT, "
    "COMMIT). Every read of the service is one statement, and one statement in autocommit is a "
    "transaction of its own with one snapshot, so reads are now that single round trip (a read "
    "transaction refuses a second statement). A room and its memberships are saved in one "
    "statement (two upserts in a CTE). Writes keep BEGIN ... COMMIT plus the clock's own round "
    "trip. psycopg's cursor layer then cost about 0.06 ms of CPU per statement (building the "
    "query, adapting parameters, registering the socket with the loop for each wait), three "
    "times what libpq itself needs: statements on the loop now go through libpq directly "
    "(`postgres_wire.py`: prepared once per connection, text-format parameters and columns, one "
    "socket watch per connection), and a write's statements whose rows nobody reads (BEGIN, "
    "advisory locks, saves) travel in one pipeline with the next statement that reads, or with "
    "COMMIT: the mixed flow makes 16 round trips instead of 26. What a PostgreSQL request still "
    "pays that the ceiling does not is mostly the kernel's work for each round trip over "
    "loopback TCP (libpq's send was 22% of the mixed flow's samples on 2026-12-01).",
    "7. **Two workers on one SQLite file**: they met at SQLite's write lock, whose busy handler "
    "sleeps (1, 2, 5 ... 100 ms) between attempts. The writers of every process now queue on an "
    "`flock` of `<database>-writer`, which wakes the next one as soon as the lock is free, and "
    "group commit still batches what waited meanwhile.",
    "8. Pretty-printing the reply (`prettyPrint` defaults to true) costs under 1%.",
)


def _against_targets(rows: list[dict[str, Any]], ceilings: dict[Any, Result]) -> list[str]:
    """The goals of the hot-path work beside this run's figures."""
    served = [r for r in rows if not r["server"].startswith("ceiling")]

    def ratios(operation: str, width: int) -> str:
        found = [
            f"{r['server'].removeprefix('rooms-kit serve ')} "
            f"{r['result'].per_second / ceilings[(operation, r['setup'], width)].per_second:.2f}"
            for r in served
            if r["operation"] == operation and r["connections"] == width
        ]
        return ", ".join(found)

    wide = ", ".join(
        f"{r['server'].removeprefix('rooms-kit serve ')} {r['result'].percentile(0.99):.0f} ms"
        for r in served
        if r["operation"] == "create" and r["connections"] == WIDE_CONNECTIONS
    )
    return [
        "Against the goals (ratio to the ceiling with as many processes): `get` ≥ 0.5 — "
        f"{ratios('get', 8)}; mixed flow ≥ 0.4 — {ratios('mixed', 8)}; two workers ≥ 1.4 times "
        f"one on the mixed flow — see above; `create` p99 < 100 ms at {WIDE_CONNECTIONS} "
        f"connections — {wide}.",
    ]


GOALS = {"get": 0.5, "mixed": 0.4}
"""The ratio to the ceiling each operation should reach (issue 13)."""


def cpu_budget(goal_rate: float, workers: int, database_ms: float, client_ms: float) -> float:
    """The most CPU per request (ms) a server may spend and still answer ``goal_rate`` requests
    per second on this machine: its ``workers`` processes get a core each at most, and the
    cores are shared with PostgreSQL and the load generator, whose CPU per request is given."""
    cores = os.cpu_count() or 1
    return min(workers * 1000 / goal_rate, cores * 1000 / goal_rate - database_ms - client_ms)


def _budgets(rows: list[dict[str, Any]], ceilings: dict[Any, Result]) -> list[str]:
    """For each PostgreSQL row of a goal not met: the CPU per request that reaching the goal
    would leave the server, beside the ceiling's and the server's own."""
    found = []
    for row in rows:
        result: Result = row["result"]
        goal = GOALS.get(row["operation"])
        if goal is None or not result.database_cpu_ms or row["connections"] != 8:
            continue
        ceiling = ceilings[(row["operation"], row["setup"], row["connections"])]
        if result.per_second >= goal * ceiling.per_second:
            continue
        budget = cpu_budget(
            goal * ceiling.per_second,
            row["setup"].workers,
            result.database_cpu_ms,
            result.client_cpu_ms,
        )
        held_back = (
            ""
            if result.cpu_ms > budget
            else ": it spent less, so what held this row back was not these processes' CPU "
            "but waiting, or other work on the machine"
        )
        found.append(
            f"{row['operation']} x{row['setup'].workers}: at most {budget:.3f} ms "
            f"({budget / ceiling.cpu_ms:.2f} times the ceiling's {ceiling.cpu_ms:.3f} ms; "
            f"the server spent {result.cpu_ms:.3f} ms, PostgreSQL {result.database_cpu_ms:.3f} ms"
            f"{held_back})"
        )
    if not found:
        return []
    return [
        "",
        "What a PostgreSQL goal not met would leave the server, with PostgreSQL and the load "
        "generator on the same cores at the CPU per request they spent in that row (each "
        "worker process gets one core at most): " + "; ".join(found) + ".",
    ]


def _ceilings(rows: list[dict[str, Any]]) -> dict[Any, Result]:
    """The ceiling's result for each (operation, setup, connections) measured."""
    return {
        (r["operation"], r["setup"], r["connections"]): r["result"]
        for r in rows
        if r["server"].startswith("ceiling")
    }


def render(
    rows: list[dict[str, Any]], alone: dict[str, float], total: int, connections: int, rounds: int
) -> str:
    ceilings = _ceilings(rows)
    lines = [
        BEGIN,
        "## Reference server (`bench/server.py`)",
        "",
        f"{rounds} rounds of {total:,} requests per measurement (each after a warm-up) over "
        f"{connections} keep-alive connections on 127.0.0.1 (and {WIDE_CONNECTIONS} for the wide "
        "`create` rows), sent by a minimal asyncio HTTP/1.1 client in the same run against two "
        "servers on the same uvicorn with the same number of processes, alternating between "
        "them; the best round of each counts. *CPU ms/request* is the user and system time of "
        "all the server's processes divided by the requests; the *CPU ratio* (ceiling's CPU per "
        "request over the server's) is disturbed less by other work on the machine than the "
        "rates are; *peak MiB* is the peak resident memory (`VmHWM`) of each of the server's "
        "processes since it started, summed over them (PostgreSQL's processes not included):",
        "",
        "- *ceiling xN*: a bare Starlette endpoint in N processes answering every request with "
        "the same fixed room (the bytes the reference server returned for the benchmarked room);",
        "- *rooms-kit serve STORE xN*: the reference server with `--workers N`, on a SQLite file "
        "(write-ahead log, `synchronous=FULL`) or on PostgreSQL 15 (a local cluster with `fsync` "
        "on), JSON access log on, development-mode tokens. `get` reads one room of 2 participants; "
        "`create` makes a new room with one invitation each time; `mixed` is the flow create → "
        "list → join → get → reportStatus → leave, twice (7 requests, two players per connection).",
        "",
        f"Run of {STARTED:%Y-%m-%d, %H:%M} UTC on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, load average "
        f"{LOAD_AT_START:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (the one-minute "
        "average, the benchmark's own processes included: a value above 1 at the start means "
        "other work had been running just before); the "
        "client, the servers and PostgreSQL share the cores, so absolute rates are lower than "
        "remote clients would see"
        + (", and a second worker has no idle core to use." if (os.cpu_count() or 1) <= 2 else "."),
        "",
        "| operation | server | connections | requests/s | p50 ms | p90 ms | p99 ms "
        "| ratio to ceiling | CPU ms/request | CPU ratio | peak MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        result: Result = row["result"]
        ceiling = ceilings[(row["operation"], row["setup"], row["connections"])]
        lines.append(
            f"| {row['operation']} | {row['server']} | {row['connections']} | "
            f"{result.per_second:,.0f} | {result.percentile(0.5):.2f} | "
            f"{result.percentile(0.9):.2f} | {result.percentile(0.99):.2f} | "
            f"{result.per_second / ceiling.per_second:.2f} | {result.cpu_ms:.3f} | "
            f"{ceiling.cpu_ms / result.cpu_ms if result.cpu_ms else 0:.2f} | "
            f"{result.peak_mib:,.0f} |"
        )
    scaling = two_against_one(rows)
    bare = {
        (r["setup"].store, r["setup"].workers): r["result"].per_second
        for r in rows
        if r["operation"] == "mixed" and r["server"].startswith("ceiling")
    }
    bare_scaling = [
        f"{store} run {bare[(store, 2)] / bare[(store, 1)]:.2f} times"
        for store in ("sqlite", "postgresql")
        if (store, 1) in bare and (store, 2) in bare
    ]
    steady = [r["result"].cpu_ms for r in rows if r["server"].startswith("ceiling")]
    busy = [
        (r["result"].cpu_ms + r["result"].client_cpu_ms) * r["result"].per_second / 1000
        for r in rows
        if r["server"].startswith("ceiling") and r["setup"].workers == 2
    ]
    lines += [
        "",
        "Two workers against one on the mixed flow: " + "; ".join(scaling) + ". The ceiling "
        "itself, two processes against one in the same run: "
        + ", ".join(bare_scaling)
        + (
            f" (its two processes and the load generator kept {min(busy):.1f} to "
            f"{max(busy):.1f} of the {os.cpu_count()} cores busy)."
            if busy
            else "."
        ),
        "",
        f"The ceiling does the same work in every row; its CPU per request ranged from "
        f"{min(steady):.3f} to {max(steady):.3f} ms over this run (a wider spread means the "
        "machine itself was slower at times, and the rates of those rows moved with it). An "
        f"fsync of 4 KiB in the benchmark's folder took {alone['fsync_p50']:.2f} ms at the "
        f"median and {alone['fsync_p99']:.2f} ms at p99 at the start (every SQLite commit waits "
        "for one, every PostgreSQL commit for a WAL flush).",
        "",
        *_against_targets(rows, ceilings),
        *_budgets(rows, ceilings),
        "",
        "`RoomService` called directly (no HTTP), in the same run: "
        + ", ".join(
            f"{key} {value:.3f} ms"
            for key, value in alone.items()
            if key not in ("pgbench", "fsync_p50", "fsync_p99")
        )
        + f". PostgreSQL alone (pgbench, 8 clients, the statements of one `create`): "
        f"{alone['pgbench']:,.0f} creates/s.",
        "",
        *PROFILE_NOTES,
        END,
    ]
    return "\n".join(lines) + "\n"


def two_against_one(rows: list[dict[str, Any]]) -> list[str]:
    """For each store measured with one and with two workers on the mixed flow: the gain."""
    mixed: dict[tuple[str, int], Result] = {
        (r["setup"].store, r["setup"].workers): r["result"]
        for r in rows
        if r["operation"] == "mixed" and not r["server"].startswith("ceiling")
    }
    return [
        _two_against_one(store, mixed[(store, 1)], mixed[(store, 2)])
        for store in ("sqlite", "postgresql")
        if (store, 1) in mixed and (store, 2) in mixed
    ]


def _two_against_one(store: str, one: Result, two: Result) -> str:
    """How much two workers gave over one, and the most they could give on this machine: with
    every core busy at one worker's CPU per request (its server, PostgreSQL's and the load
    generator's part; two workers cost more per request, never less), the cores carry at most
    ``cores / (server + PostgreSQL + load generator)`` requests per second."""
    cores = os.cpu_count() or 1
    cost = one.cpu_ms + one.database_cpu_ms + one.client_cpu_ms
    most = cores * 1000 / cost if cost else 0.0
    database = f", PostgreSQL {one.database_cpu_ms:.2f}" if one.database_cpu_ms else ""
    return (
        f"{store} {two.per_second / one.per_second:.2f} times (one worker's CPU per request: "
        f"server {one.cpu_ms:.2f}{database}, load generator {one.client_cpu_ms:.2f} ms; at that "
        f"cost the {cores} cores carry at most {most:,.0f} requests/s, "
        f"{most / one.per_second:.2f} times what one worker did)"
    )


def write_section(section: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace one benchmark's section of docs/performance.md (between its ``begin`` and ``end``
    markers), leaving the others alone."""
    text = PERFORMANCE.read_text(encoding="utf-8") if PERFORMANCE.exists() else "# Performance\n"
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    PERFORMANCE.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, help="requests per measurement (default 2000)")
    parser.add_argument(
        "--rounds", type=int, help="rounds per measurement, best counts (default 3)"
    )
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument(
        "--setups",
        type=parse_setups,
        help="only these setups, STORE:WORKERS separated by commas (e.g. sqlite:1,postgresql:2); "
        "a partial run leaves docs/performance.md alone",
    )
    parser.add_argument(
        "--operations",
        type=parse_operations,
        help="only these operations of each setup: get, create, mixed, wide (create at "
        f"{WIDE_CONNECTIONS} connections); a partial run leaves docs/performance.md alone",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 rounds of 1,000 requests and no service-alone or pgbench figures (for A/B runs; "
        "leaves docs/performance.md alone)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    parser.add_argument("--serve-ceiling", metavar="ROOM_JSON", help=argparse.SUPPRESS)
    parser.add_argument("--ceiling-workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ceiling:
        serve_ceiling(args.serve_ceiling, args.ceiling_workers)
        return
    requests = args.requests if args.requests is not None else (1000 if args.quick else 2000)
    rounds = args.rounds if args.rounds is not None else (2 if args.quick else 3)
    if requests < 1 or rounds < 1 or args.connections < 1:
        parser.error("--requests, --rounds and --connections must be at least 1")
    partial = args.setups is not None or args.operations is not None or args.quick
    started = time.monotonic()
    rows, alone = run(
        requests,
        args.connections,
        rounds,
        setups=args.setups or SETUPS,
        operations=args.operations,
        alone_too=not args.quick,
    )
    print(f"measured in {time.monotonic() - started:.0f} s, load average {os.getloadavg()[0]:.1f}")
    for line in two_against_one(rows):
        print(f"two workers against one, mixed flow: {line}")
    for line in _budgets(rows, _ceilings(rows))[1:]:
        print(line)
    if partial:
        print("a partial run: docs/performance.md left as it is")
    elif not args.no_write:
        write_section(render(rows, alone, requests, args.connections, rounds))
        print(f"written to {PERFORMANCE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

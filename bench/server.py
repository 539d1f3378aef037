"""Benchmark of the reference server: ``get`` and ``create`` over loopback, beside a ceiling.

Two servers run as child processes, each on 127.0.0.1 with a free port:

- ``rooms-kit serve`` on a fresh SQLite file (WAL, synchronous=FULL; access log on, to /dev/null);
- the *ceiling*: a minimal Starlette endpoint on the same uvicorn that answers every request with a
  fixed room (the very bytes the reference server returned for the benchmarked room), reading the
  request body but doing nothing else — what any server on this stack costs at least.

A small asyncio HTTP/1.1 client (keep-alive connections, no library overhead) sends the same
requests to both in the same run and records each latency. Results go to standard output and to
the "Reference server" section of docs/performance.md (only that section is rewritten).

Run: ``make bench`` or ``.venv/bin/python bench/server.py [--requests N] [--connections C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE = ROOT / "docs" / "performance.md"
BEGIN = "<!-- bench/server.py: begin -->"
END = "<!-- bench/server.py: end -->"


# -- the ceiling ----------------------------------------------------------------------------------


def serve_ceiling(payload_file: str) -> None:
    """Child-process mode: run the fixed-room Starlette app and print the bound port."""
    import socket  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import Response  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    payload = Path(payload_file).read_bytes()

    async def fixed_room(request: Request) -> Response:
        await request.body()
        return Response(payload, media_type="application/json; charset=UTF-8")

    app = Starlette(routes=[Route("/{path:path}", fixed_room, methods=["GET", "POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # as serve does
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(json.dumps({"event": "listening", "port": sock.getsockname()[1]}), flush=True)
    config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="off")
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

    def percentile(self, share: float) -> float:
        index = min(len(self.latencies) - 1, round(share * (len(self.latencies) - 1)))
        return self.latencies[index] * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000


def measure(port: int, request: Call, total: int, connections: int) -> Result:
    asyncio.run(_load(port, request, max(total // 10, connections), connections))  # warm-up
    return asyncio.run(_load(port, request, total, connections))


# -- the service alone ----------------------------------------------------------------------------


def service_alone(folder: Path, count: int) -> dict[str, float]:
    """Milliseconds per call of ``RoomService`` itself (no HTTP), on a file and on ``:memory:``."""
    from rooms_kit.reference_server import RoomService, SqliteStore  # noqa: PLC0415

    costs: dict[str, float] = {}
    for label, database in (("file", str(folder / "alone.db")), ("memory", ":memory:")):
        store = SqliteStore(database)
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


def run(total: int, connections: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    python = sys.executable
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rooms-bench-") as folder:
        work = Path(folder)
        alone = service_alone(work, min(total, 1000))
        print(
            "service alone: " + ", ".join(f"{key} {value:.3f} ms" for key, value in alone.items()),
            flush=True,
        )
        server = Child(
            [
                python,
                "-m",
                "rooms_kit.cli.main",
                "serve",
                "--port",
                "0",
                "--database",
                "rooms.db",
                "--dev-tokens",
            ],
            announce_on_stderr=True,
            cwd=work,
        )
        try:
            room_id, room_json = _prepare(server.port)
            (work / "room.json").write_bytes(room_json)
            ceiling = Child(
                [python, str(Path(__file__).resolve()), "--serve-ceiling", str(work / "room.json")],
                announce_on_stderr=False,
                cwd=work,
            )
            try:
                scenarios = {
                    "get": Call("GET", f"/games/v1/rooms/{room_id}", b"", "dev-alice"),
                    "create": Call(
                        "POST",
                        "/games/v1/rooms/create",
                        b'{"invitedPlayerIds": ["bob"], "variant": 1}',
                        "dev-alice",
                    ),
                }
                for name, request in scenarios.items():
                    for target, port in (
                        ("ceiling", ceiling.port),
                        ("rooms-kit serve", server.port),
                    ):
                        result = measure(port, request, total, connections)
                        if result.failures:
                            raise SystemExit(f"{target} {name}: {result.failures} failed requests")
                        rows.append({"operation": name, "server": target, "result": result})
                        print(
                            f"{name:<7} {target:<16} {result.per_second:>9,.0f} req/s  "
                            f"p50 {result.percentile(0.5):6.2f} ms  p90 {result.percentile(0.9):6.2f}"
                            f" ms  p99 {result.percentile(0.99):6.2f} ms",
                            flush=True,
                        )
            finally:
                ceiling.stop()
        finally:
            server.stop()
    return rows, alone


def render(
    rows: list[dict[str, Any]], alone: dict[str, float], total: int, connections: int
) -> str:
    ceilings = {r["operation"]: r["result"] for r in rows if r["server"] == "ceiling"}
    lines = [
        BEGIN,
        "## Reference server (`bench/server.py`)",
        "",
        f"{total:,} requests per measurement (after a warm-up of a tenth as many) over "
        f"{connections} keep-alive connections on 127.0.0.1, sent by a minimal asyncio HTTP/1.1 "
        "client in the same run against two servers on the same uvicorn:",
        "",
        "- *ceiling*: a bare Starlette endpoint answering every request with the same fixed room "
        "(the bytes the reference server returned for the benchmarked room);",
        "- *rooms-kit serve*: the reference server on a SQLite file (write-ahead log, "
        "`synchronous=FULL`, so every `create` waits for its commit to reach the disk), JSON access "
        "log on, development-mode tokens. `get` reads one room of 2 participants; `create` makes a "
        "new room with one invitation each time.",
        "",
        f"Run of {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; the client shares the "
        "cores with the server, so the absolute rates are lower than a remote client would see.",
        "",
        "| operation | server | requests/s | p50 ms | p90 ms | p99 ms | ratio to ceiling |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        result: Result = row["result"]
        ratio = result.per_second / ceilings[row["operation"]].per_second
        lines.append(
            f"| {row['operation']} | {row['server']} | {result.per_second:,.0f} | "
            f"{result.percentile(0.5):.2f} | {result.percentile(0.9):.2f} | "
            f"{result.percentile(0.99):.2f} | {ratio:.2f} |"
        )
    lines += [
        "",
        "Where the time goes. In the same run, `RoomService` called directly (no HTTP) took "
        f"{alone['get/file']:.3f} ms per `get` and {alone['create/file']:.3f} ms per `create` on a "
        f"file ({alone['create/memory']:.3f} ms per `create` on `:memory:`, so most of a file "
        "create is its fsync'd commit). The rest of the gap to the ceiling is HTTP-side work the "
        "ceiling skips: the stub checks parameters and bodies against the schemas and builds "
        "pydantic models both ways, the adapter converts to and from wire dicts, replies are "
        "pretty-printed (`prettyPrint` defaults to true, as in Google's API), every request is "
        "logged as a JSON line; and writes hop to a worker thread and queue behind each other for "
        "the database lock, which is why `create` latency grows with the number of connections.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    """Replace this benchmark's section of docs/performance.md, leaving the others alone."""
    text = PERFORMANCE.read_text(encoding="utf-8") if PERFORMANCE.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    PERFORMANCE.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    parser.add_argument("--serve-ceiling", metavar="ROOM_JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ceiling:
        serve_ceiling(args.serve_ceiling)
        return
    rows, alone = run(args.requests, args.connections)
    if not args.no_write:
        write_section(render(rows, alone, args.requests, args.connections))
        print(f"written to {PERFORMANCE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

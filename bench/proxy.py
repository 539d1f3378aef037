"""Benchmark of ``rooms-kit proxy``: what it adds to a ``get`` and how much throughput it keeps.

Two child processes on 127.0.0.1 with free ports: ``rooms-kit serve`` (fresh SQLite file,
development tokens) and ``rooms-kit proxy`` in front of it (every check on, no recording). The load
generator of ``bench/server.py`` (keep-alive HTTP/1.1, in this process) sends the same ``get`` of
one room straight to the server and through the proxy, in the same run:

- latency with one connection (one request at a time), p50 and p99, direct and proxied; the
  difference is what the proxy adds;
- throughput with several connections, direct and proxied, and their ratio (goal: at least 0.7).

The proxy's peak resident memory (VmHWM) is read from /proc before it is stopped. Then
``bench/judging.py`` measures, in this process, the CPU time the proxy's judge spends on one
8 MiB answer (valid, or wrong in every room), and ``bench/stall.py`` how long other clients wait
through the proxy while such answers are judged.
Results go to standard output and to this benchmark's section of docs/performance.md.

Run: ``make bench`` or ``.venv/bin/python bench/proxy.py [--requests N] [--connections C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import judging
import stall
from server import PERFORMANCE, ROOT, Call, Child, Result, _load, _prepare, write_section

BEGIN = "<!-- bench/proxy.py: begin -->"
END = "<!-- bench/proxy.py: end -->"
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def measure(port: int, request: Call, total: int, connections: int) -> Result:
    """``request`` ``total`` times over ``connections``, after a warm-up of a tenth as many."""
    asyncio.run(_load(port, request, max(total // 10, connections), connections))
    return asyncio.run(_load(port, request, total, connections))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Proxy:
    """``rooms-kit proxy`` as a child; its violation lines are counted, its memory read."""

    def __init__(self, upstream: str, cwd: Path) -> None:
        command = [sys.executable, "-m", "rooms_kit.cli.main", "proxy", "--port", "0"]
        self.process = subprocess.Popen(
            [*command, "--upstream", upstream],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None and self.process.stdout is not None
        found = LISTENING.search(self.process.stderr.readline())
        if found is None:
            self.process.kill()
            raise SystemExit("the proxy did not start")
        self.port = int(found.group(1))
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def peak_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8")
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else float("nan")

    def stop(self) -> int:
        os.kill(self.process.pid, signal.SIGINT)  # our own child
        status = self.process.wait(60)
        self._reader.join()
        return status


def run(total: int, connections: int) -> dict[str, object]:
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="rooms-bench-proxy-") as folder:
        work = Path(folder)
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
            room_id, _ = _prepare(server.port)
            proxy = Proxy(f"http://127.0.0.1:{server.port}", work)
            try:
                get = Call("GET", f"/games/v1/rooms/{room_id}", b"", "dev-alice")
                found: dict[str, Result] = {}
                cpu: dict[str, float] = {}
                for label, port in (("direct", server.port), ("proxied", proxy.port)):
                    found[f"{label}/1"] = measure(port, get, total // 2, 1)
                    before = (cpu_seconds(server.process.pid), proxy.cpu_seconds())
                    found[f"{label}/{connections}"] = measure(port, get, total, connections)
                    sent = total + max(total // 10, connections)  # measure() warms up first
                    cpu[f"{label}/server"] = (cpu_seconds(server.process.pid) - before[0]) / sent
                    cpu[f"{label}/proxy"] = (proxy.cpu_seconds() - before[1]) / sent
                for key, result in found.items():
                    if result.failures:
                        raise SystemExit(f"{key}: {result.failures} failed requests")
                    print(
                        f"get {key:<12} {result.per_second:>8,.0f} req/s  p50 "
                        f"{result.percentile(0.5):6.2f} ms  p99 {result.percentile(0.99):6.2f} ms",
                        flush=True,
                    )
                peak = proxy.peak_mib()
            finally:
                status = proxy.stop()
        finally:
            server.stop()
    if status != 0 or len(proxy.lines) != 1:
        raise SystemExit(f"the proxy saw violations (exit {status}): {proxy.lines[:3]}")
    load = os.getloadavg()[0]
    return {"results": found, "peak": peak, "verdict": proxy.lines[-1], "cpu": cpu, "load": load}


def render(found: dict[str, object], total: int, connections: int) -> str:
    results: dict[str, Result] = found["results"]  # type: ignore[assignment]
    cpu: dict[str, float] = found["cpu"]  # type: ignore[assignment]
    one_direct, one_proxied = results["direct/1"], results["proxied/1"]
    many_direct, many_proxied = results[f"direct/{connections}"], results[f"proxied/{connections}"]
    added_50 = one_proxied.percentile(0.5) - one_direct.percentile(0.5)
    added_99 = one_proxied.percentile(0.99) - one_direct.percentile(0.99)
    ratio = many_proxied.per_second / many_direct.per_second
    lines = [
        BEGIN,
        "## Proxy (`bench/proxy.py`)",
        "",
        "`rooms-kit proxy` (every per-exchange check and lifecycle rule on, no recording) in front "
        "of `rooms-kit serve` (SQLite file, development tokens), both child processes on "
        "127.0.0.1; the `get` of one room sent straight to the server and through the proxy in the "
        f"same run by `bench/server.py`'s client. Run of {datetime.now(UTC):%Y-%m-%d} on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; client, proxy and server "
        "share the cores.",
        "",
        "| path | connections | requests | requests/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, result in results.items():
        label, count = key.split("/")
        lines.append(
            f"| {label} | {count} | {len(result.latencies):,} | {result.per_second:,.0f} | "
            f"{result.percentile(0.5):.2f} | {result.percentile(0.99):.2f} |"
        )
    lines += [
        "",
        f"- latency the proxy adds to a `get` (one connection): **{added_50:.2f} ms at p50, "
        f"{added_99:.2f} ms at p99**;",
        f"- throughput through the proxy with {connections} connections: **{ratio:.2f} times direct** "
        "(goal: at least 0.7);",
        f"- CPU per proxied `get`: {cpu['proxied/proxy'] * 1000:.2f} ms in the proxy, "
        f"{cpu['proxied/server'] * 1000:.2f} ms in the server (the server alone, direct: "
        f"{cpu['direct/server'] * 1000:.2f} ms); throughput through the proxy is bounded by the "
        "cores it shares with the client and the server: when CPU is what limits, the ratio "
        "tends to the server's CPU per direct `get` over server plus proxy per proxied one, "
        f"here {cpu['direct/server'] / (cpu['proxied/server'] + cpu['proxied/proxy']):.2f};",
        f"- the proxy's peak resident memory: {found['peak']:.0f} MiB; its verdict at the stop: "
        f"`{found['verdict']}`;",
        f"- one-minute load average of the machine at the end of the run: {found['load']:.1f} "
        "(the benchmark's own processes included).",
        "",
        "**Judging one large answer** (`bench/judging.py`): the least CPU time of three for the "
        "proxy's judge on answers of 8 MiB built from the benchmark corpus, in the benchmark's own "
        "process.",
        "",
        *judging.table(found["judging"]),  # type: ignore[arg-type]
        "",
        "Before the change that added this table, the same bodies took 1,097 ms (valid list), "
        "3,428 ms (every "
        "room wrong, 2,601 of them in `openapi_response_schema`) and 4,078 ms (every participant "
        "wrong, 3,348 in that check), measured the same way on 2026-12-01. A profile showed the "
        "pure-Python `jsonschema` validator describing every failing item, then each of four "
        "checks parsing the body again with the standard `json` module. Now jsonschema-rs judges "
        "each item of a long array and the Python validator describes at most 16 failing items "
        "of each, plus one per violation not seen yet (`rooms_kit/contract/schema_errors.py`), and "
        "the checks of one exchange share one parse (`CheckContext.body`). What was left then "
        "grew with the size whether the answer was valid or not: the one `json` parse, "
        "jsonschema-rs over every item, and `int64_strings`, which walked every value in Python "
        "(the second round, below, took on the parse and the walk). The small `get` "
        "above costs the proxy the same CPU as before (A/B against `main`, three rounds each, "
        "alternating: 0.134 ms before, 0.130 ms after, on 2026-12-01 at load 2 to 3).",
        "",
        "Then (second round, 2026-12-01): cProfile of the judge on the list with every room wrong "
        "showed the body read four times (the standard `json` module for the checks, 0.38 s in "
        "one call; orjson again in the schema checks, then a comparison of the two values; "
        "orjson once more for the lifecycle rules) and `int64_strings` resolving and trying "
        "every property of every value (347,000 calls). Now the checks and the rules share one "
        "reading, by orjson where it reads the body as `json` would (`bounded.read_json`), and "
        "the int64 walk follows only the properties under which an int64 field can be: 3.1 s "
        "under the profiler became 1.3 s, and the proxy's CPU per such answer about halved "
        "(1.05-1.1 s to 0.54-0.57 s, `bench/stall.py`'s load, A/B at load 2.5).",
        "",
        "Third round (2026-12-01, later). Profiled first: the corpus's answers hold int64 "
        'strings at their extremes ("-9223372036854775808"), and `bounded.read_json` sent every'
        " body with a run of 19 digits to the standard `json` module, although orjson turns "
        "into floats only integers of 20 digits, or 19 after a minus sign, and digits in a "
        "string are no integer at all; its depth check first cut every string out of the whole "
        "text with a regular expression (about 70 ms for 8 MiB, one call holding the "
        "interpreter lock). Now orjson reads first unless an integer that may not fit begins "
        "where a number can begin; it refuses invalid UTF-8 and nesting past 1,024 levels "
        "itself, and the depth of what it read is measured on the values (a Python loop the "
        "event loop can interleave with), with `json_problem`'s verdict and wording "
        "(differential tests walk the 64-bit edges, long fractions and exponents, and depths). "
        "Least CPU of five: `read_json` of the corpus's list 149-154 ms before, 102-106 ms "
        "after; the judge of the three answers of the table above 336, 433 and 414 ms before, "
        "188-282 ms after (two runs). Then the garbage collector: a proxy instrumented with "
        "`gc.callbacks` under `bench/stall.py`'s load showed full collections of 140-315 ms in the judging "
        "thread, and one of 603 ms on the event loop's thread that freed 265,000 objects. A "
        "check's failure kept its traceback, whose frames held the parsed body, and the list of"
        " results holding the failure closed a cycle through them, so every failing answer's "
        "values waited for a full collection, which holds the interpreter lock throughout. "
        "Failures are now kept without their tracebacks (a test checks that judging leaves no "
        "cycle), and the proxy freezes what it built at start (`gc.freeze`), so full "
        "collections no longer walk it: 12-67 ms each. `bench/stall.py`, A/B at load 1 to 2: "
        "the longest wait of a small `get` beside the 8 MiB answers 306-419 ms before, 64-95 ms"
        " after; p99 17-29 ms before, 11-12 ms after; 3,300-5,400 small `get`s answered in 10 s"
        " before, 9,600-10,700 after.",
        "",
        "**Other clients beside large answers** (`bench/stall.py`): "
        + stall.line(found["stall"])
        + ". Large exchanges, and those that end behind them, are judged by one worker thread in "
        "the order they ended (`rooms_kit/traffic/inspections.py`), so the event loop goes on "
        "relaying other clients' exchanges meanwhile; what still holds it is what keeps the "
        "interpreter lock in one go: a single long call into C (orjson reading the 8 MiB, about"
        " 55 ms here) and the garbage collector's full collections (12-67 ms since the third "
        "round, above; 0.14-0.6 s before). Judged on "
        "the loop, as before, the longest wait was the whole judging: four A/B pairs at load "
        "2.3-2.7 (other engineers' tests running) gave 1.3-2.0 s before and 0.47-0.93 s "
        "after, and 1.6-3.2 times as many small requests answered in the same 10 s.",
        "",
        "What the profiles (cProfile with a CPU clock, on the proxy process) showed, in the order "
        "it was fixed: (1) every answer ran the suite's schema checks, about 3.5 ms of "
        "`jsonschema` each; identical answers (a client polling a room) now reuse the verdict "
        "from a bounded cache keyed by operation, status, content type and body. (2) httpx's "
        "async client (a `sys.path` search for the missing `sniffio` on every lock, pool "
        "bookkeeping, URL objects, cookies) cost more than the rest of the proxy together; a "
        "small h11 keep-alive client took the proxy from about 1.4 to about 0.43 ms of CPU per "
        "`get`. (3) Of those 0.43 ms, most was pure-Python HTTP/1.1: uvicorn's h11 protocol and "
        "the ASGI round trip towards the client, h11 towards the server. Both sides are now "
        "`asyncio.Protocol`s parsed by httptools (llhttp, in C), with no task, stream or "
        "coroutine per exchange and the answer written to the client in one call per batch of "
        "bytes the server sent (`rooms_kit/traffic/front.py`, `upstream.py`): 0.21 ms. (4) The "
        "next profile showed four event-loop timers created and cancelled per exchange (now one "
        "ticker checks every deadline each 0.1 s), the answer parsed twice with the standard "
        "`json` module (now once, with orjson, for every rule), and the route, the declared "
        "query parameters and a room answer's lifecycle facts worked out again for every "
        "exchange (now remembered, bounded): 0.13 ms, measured A/B as the proxy process's CPU "
        "time over 3,000 `get`s, several rounds. With judging switched off the proxy still "
        "costs about 0.11 ms: what is left is asyncio's selector loop and its four socket calls "
        "per exchange, not the checks. What the ratio depends on: on a quiet machine the "
        "one-process server is what limits, and the proxy works on the other core, so traffic "
        "through it keeps about all of the direct throughput (four runs on 2026-11-30 at load "
        "1.0: 0.96 to 1.05); when other work takes the cores, CPU limits and the ratio falls "
        "towards the CPU estimate above (a run the same day at load 3.4: 0.69).",
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    found = run(args.requests, args.connections)
    found["judging"] = judging.run()
    print("\n".join(judging.table(found["judging"])), flush=True)  # type: ignore[arg-type]
    found["stall"] = stall.run(Proxy)
    print(stall.line(found["stall"]), flush=True)  # type: ignore[arg-type]
    if not args.no_write:
        write_section(render(found, args.requests, args.connections), BEGIN, END)
        print(f"written to {PERFORMANCE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

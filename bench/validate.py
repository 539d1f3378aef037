"""Benchmark: `rooms-kit validate` against the bare JSON parse rate and check-jsonschema.

Run by `make bench` (never by the tests). Everything is measured in one run, on one machine, on
generated corpora of games#room documents (2-8 participants with full player objects):

  valid        every room valid
  1 in 10      one room in ten carries one planted defect
  all, 1 each  every room carries one planted defect
  all, 3 each  every room carries three different planted defects

For each corpus, as a ratio to the floor on the same file:

  floor            orjson.loads over every line of the NDJSON file, in one Python loop
  rooms-kit        the whole `rooms-kit validate FILE` process (start-up included); on the valid
                   corpus also with --jobs 2 and --jobs 0 (one worker per core)
  check-jsonschema the usual CLI on the first N documents of the same corpus, one file each (it
                   cannot read NDJSON), with the schemas bundled into one compound schema

Each measurement is repeated (--repeat, interleaved) and the fastest run counts, so that a burst of
load from other processes on the machine hurts one run, not the figure. Wall-clock ratios are the
goals; the CPU-time ratios (user + system time of the process against that of the floor loop) are
printed too, because on a busy machine they move less. The peak resident memory of every
rooms-kit run is the largest of the process and its workers (from /usr/bin/time).

Then one huge document each (about 8 MiB, one `rooms-kit validate` process each): a valid
games#roomList of rooms, one whose items are 1.2 million integers, and one of rooms wrong in every
member; only the first --max-errors issues are printed, and the invalid ones should cost about what
the valid one does (their CPU time is printed as a ratio to the valid one's).

Goals (issue 10), wall clock: every-document-invalid corpora >= 0.3 x floor, one in ten >= 0.5 x,
valid >= 0.6 x in one process and >= 1.0 x with --jobs 2; peak memory under 50 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MEMORY_GOAL_MB = 50


@dataclass
class Timing:
    wall: float = float("inf")
    cpu: float = float("inf")
    peak_mb: float = 0.0

    def keep_best(self, wall: float, cpu: float, peak_mb: float) -> None:
        self.wall = min(self.wall, wall)
        self.cpu = min(self.cpu, cpu)
        self.peak_mb = max(self.peak_mb, peak_mb)


@dataclass
class Corpus:
    name: str
    path: Path
    documents: int
    planted: int
    lines: list[bytes]
    goal: float
    runs: dict[str, Timing]
    summary: dict[str, object]


def _floor(path: Path) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as stream:
        for line in stream:
            orjson.loads(line)
    return time.perf_counter() - started, time.process_time() - cpu


def _rooms_kit(path: Path, *extra: str) -> tuple[float, float, float, dict[str, object]]:
    """Wall seconds, CPU seconds, peak RSS in MB and the summary record of one run.

    The process runs under /usr/bin/time, whose own small process forks it: the peak it reports
    is that of rooms-kit (the largest of the process and any worker it waited for), not of this
    benchmark, whose size a child forked from it would inherit.
    """
    command = [str(BIN / "rooms-kit"), "validate", "--format", "json", *extra, str(path)]
    with tempfile.TemporaryDirectory() as tmp:
        times = Path(tmp) / "time"
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-o", str(times), "-f", "%U %S %M", *command],
            capture_output=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        user, system, peak_kb = times.read_text().split()[-3:]
    if done.returncode not in (0, 1):
        raise SystemExit(f"rooms-kit validate failed: {done.stderr.decode()}")
    lines = done.stdout.splitlines()
    summary: dict[str, object] = json.loads(lines[-1])
    summary["errors"] = len(lines) - 1
    return seconds, float(user) + float(system), int(peak_kb) / 1024, summary


def _bundle(target: Path) -> None:
    """One compound schema: every schema embedded under $defs with its own $id."""
    folder = ROOT / "schemas"
    embedded = {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.schema.json"))}
    bundle = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": embedded["room.schema.json"]["$id"],
        "$defs": embedded,
    }
    target.write_text(json.dumps(bundle))


def _check_jsonschema(lines: list[bytes], work: Path, name: str, *, valid: bool) -> float:
    folder = work / f"documents-{name}"
    folder.mkdir()
    files = []
    for number, line in enumerate(lines):
        path = folder / f"room-{number:06d}.json"
        path.write_bytes(line)
        files.append(str(path))
    schema = work / "bundle.schema.json"
    if not schema.exists():
        _bundle(schema)
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "check-jsonschema"), "--schemafile", str(schema), *files],
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != (0 if valid else 1):
        raise SystemExit(
            f"check-jsonschema answered {done.returncode} on the {name} corpus: "
            f"{done.stdout.decode()[:2000]}"
        )
    return len(files) / seconds


def _corpora(args: argparse.Namespace, work: Path) -> list[Corpus]:
    specs = [
        ("valid", args.documents, {}, 0.6),
        ("1 in 10 invalid", args.invalid_documents, {"invalid_share": 0.1, "seed": 7}, 0.5),
        (
            "all invalid, 1 defect each",
            args.invalid_documents,
            {"invalid_share": 1.0, "seed": 8},
            0.3,
        ),
        (
            "all invalid, 3 defects each",
            args.invalid_documents,
            {"invalid_share": 1.0, "defects": 3, "seed": 9},
            0.3,
        ),
    ]
    made = []
    for number, (name, count, options, goal) in enumerate(specs):
        data, planted = corpus.ndjson(count, **options)  # type: ignore[arg-type]
        path = work / f"corpus-{number}.ndjson"
        path.write_bytes(data)
        lines = data.splitlines()[: args.baseline_documents]
        made.append(Corpus(name, path, count, planted, lines, goal, {}, {}))
        del data
    return made


def _measure(corpora: list[Corpus], repeat: int) -> None:
    for _ in range(repeat):
        for item in corpora:
            floor = item.runs.setdefault("floor", Timing())
            wall, cpu = _floor(item.path)
            floor.keep_best(wall, cpu, 0.0)
            variants: list[tuple[str, tuple[str, ...]]] = [("rooms-kit", ())]
            if item.planted == 0:
                variants += [
                    ("rooms-kit --jobs 2", ("--jobs", "2")),
                    ("rooms-kit --jobs 0", ("--jobs", "0")),
                ]
            for label, extra in variants:
                wall, cpu, peak, summary = _rooms_kit(item.path, *extra)
                item.runs.setdefault(label, Timing()).keep_best(wall, cpu, peak)
                if label == "rooms-kit":
                    item.summary = summary


HUGE_BYTES = 8 * 1024 * 1024


def _huge_documents(work: Path) -> list[tuple[str, Path]]:
    """About 8 MiB each: valid rooms, 1.2 million wrong values, rooms wrong in every member."""
    room = json.loads((ROOT / "schemas" / "examples" / "valid" / "room.json").read_text())
    wrong: dict[str, object] = {name: 1 for name in room}
    wrong["kind"] = "games#room"
    wrong["participants"] = [{name: 1 for name in room["participants"][0]}] * 4
    made: list[tuple[str, Path]] = []
    for name, items in [
        ("valid rooms", [room] * (HUGE_BYTES // len(orjson.dumps(room)))),
        ("1.2 million wrong values", list(range(1_200_000))),
        ("rooms wrong in every member", [wrong] * (HUGE_BYTES // len(orjson.dumps(wrong)))),
    ]:
        path = work / f"huge-{len(made)}.json"
        path.write_bytes(orjson.dumps({"kind": "games#roomList", "items": items}))
        made.append((name, path))
    return made


def _huge(work: Path, repeat: int) -> None:
    documents = _huge_documents(work)
    timings = {name: Timing() for name, _ in documents}
    errors: dict[str, object] = {}
    for _ in range(repeat):
        for name, path in documents:
            wall, cpu, peak, summary = _rooms_kit(path)
            timings[name].keep_best(wall, cpu, peak)
            errors[name] = summary["errors"]
    print()
    print("| one huge document | size | errors printed | wall | CPU | CPU ratio to valid | peak |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    valid = timings[documents[0][0]].cpu
    for name, path in documents:
        timing = timings[name]
        print(
            f"| {name} | {path.stat().st_size / 2**20:.1f} MiB | {errors[name]} "
            f"| {timing.wall:.2f} s | {timing.cpu:.2f} s | {timing.cpu / valid:.2f} "
            f"| {timing.peak_mb:.0f} MB |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=100_000, help="rooms in the valid corpus")
    parser.add_argument(
        "--invalid-documents",
        type=int,
        default=50_000,
        help="rooms in each corpus with invalid documents",
    )
    parser.add_argument(
        "--baseline-documents", type=int, default=500, help="documents for check-jsonschema"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best counts)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rooms-bench-") as tmp:
        work = Path(tmp)
        corpora = _corpora(args, work)
        size = corpora[0].path.stat().st_size / args.documents
        _measure(corpora, args.repeat)
        baseline = {
            item.name: _check_jsonschema(item.lines, work, str(n), valid=item.planted == 0)
            for n, item in enumerate(corpora)
        }
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"machine: {platform.processor() or platform.machine()}, {cores} cores, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        f"corpora: {args.documents:,} valid rooms, {args.invalid_documents:,} in each of the "
        f"others, {size / 1024:.1f} KiB each on average; best of {args.repeat} runs"
    )
    print()
    print(
        "| corpus | measurement | documents/s | ratio to floor | CPU-time ratio "
        "| peak memory | goal |"
    )
    print("|---|---|---:|---:|---:|---:|---|")
    verdicts = []
    for item in corpora:
        floor = item.runs["floor"]
        for label, timing in item.runs.items():
            rate = item.documents / timing.wall
            ratio = floor.wall / timing.wall
            cpu_ratio = floor.cpu / timing.cpu
            memory = f"{timing.peak_mb:.0f} MB" if label != "floor" else ""
            goal = ""
            if label == "rooms-kit":
                goal = f">= {item.goal} x: {'met' if ratio >= item.goal else 'NOT met'}"
                verdicts.append(ratio >= item.goal)
            elif label == "rooms-kit --jobs 2":
                goal = f">= 1.0 x: {'met' if ratio >= 1.0 else 'NOT met'}"
                verdicts.append(ratio >= 1.0)
            shown = label if label != "floor" else "orjson parse loop (floor)"
            print(
                f"| {item.name} | {shown} | {rate:,.0f} | {ratio:.2f} | {cpu_ratio:.2f} "
                f"| {memory} | {goal} |"
            )
        cj = baseline[item.name]
        print(
            f"| {item.name} | check-jsonschema ({len(item.lines)} documents) | {cj:,.0f} "
            f"| {cj * floor.wall / item.documents:.3f} | | | rooms-kit is "
            f"{item.documents / item.runs['rooms-kit'].wall / cj:.0f} x faster |"
        )
    print()
    for item in corpora:
        if item.planted:
            print(
                f"{item.name}: {item.planted:,} documents broken on purpose; "
                f"{item.summary['invalid']:,} reported invalid with {item.summary['errors']:,} "
                "located errors"
            )
    peak = max(t.peak_mb for item in corpora for k, t in item.runs.items() if k != "floor")
    print(f"peak memory of any rooms-kit run: {peak:.0f} MB (goal < {MEMORY_GOAL_MB} MB)")
    verdicts.append(peak < MEMORY_GOAL_MB)
    print(f"goals: {sum(verdicts)} of {len(verdicts)} met")
    with tempfile.TemporaryDirectory(prefix="rooms-bench-huge-") as tmp:
        _huge(Path(tmp), args.repeat)


if __name__ == "__main__":
    main()

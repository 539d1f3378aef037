"""Benchmark: `rooms-kit validate` against the bare JSON parse rate and check-jsonschema.

Run by `make bench` (never by the tests). Everything is measured in one run, on one machine, on the
same generated corpus of games#room documents (2-8 participants with full player objects):

  floor            orjson.loads over every line of the NDJSON file, in one Python loop
  rooms-kit        the whole `rooms-kit validate FILE` process (start-up included), valid corpus
  rooms-kit -j2    the same with --jobs 2
  rooms-kit 10%    the corpus with 10 % broken documents (every error located and explained)
  check-jsonschema the usual CLI on the first N documents of the same corpus, one file each
                   (it cannot read NDJSON), with the schemas bundled into one compound schema

The goal (issue 3): rooms-kit >= 0.5 x floor and >= 50 x check-jsonschema on the valid corpus.
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
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _floor(path: Path) -> float:
    started = time.perf_counter()
    count = 0
    with path.open("rb") as stream:
        for line in stream:
            orjson.loads(line)
            count += 1
    return count / (time.perf_counter() - started)


def _rooms_kit(path: Path, *extra: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "rooms-kit"), "validate", "--format", "json", *extra, str(path)],
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"rooms-kit validate failed: {done.stderr.decode()}")
    lines = done.stdout.decode().splitlines()
    summary = json.loads(lines[-1])
    summary["errors"] = len(lines) - 1
    return int(summary["documents"]) / seconds, summary


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


def _check_jsonschema(lines: list[bytes], work: Path) -> float:
    folder = work / "documents"
    folder.mkdir()
    files = []
    for number, line in enumerate(lines):
        path = folder / f"room-{number:06d}.json"
        path.write_bytes(line)
        files.append(str(path))
    schema = work / "bundle.schema.json"
    _bundle(schema)
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "check-jsonschema"), "--schemafile", str(schema), *files],
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"check-jsonschema rejected the valid corpus: {done.stdout.decode()[:2000]}"
        )
    return len(files) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=100_000, help="rooms in the valid corpus")
    parser.add_argument(
        "--invalid-documents", type=int, default=20_000, help="rooms in the 10 %% invalid corpus"
    )
    parser.add_argument(
        "--baseline-documents", type=int, default=1_000, help="documents for check-jsonschema"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rooms-bench-") as tmp:
        work = Path(tmp)
        valid, invalid = work / "valid.ndjson", work / "invalid.ndjson"
        data, _ = corpus.ndjson(args.documents)
        valid.write_bytes(data)
        bad_data, planted = corpus.ndjson(args.invalid_documents, invalid_share=0.1, seed=7)
        invalid.write_bytes(bad_data)
        size = len(data) / args.documents
        floor = _floor(valid)
        rk, _ = _rooms_kit(valid)
        rk2, _ = _rooms_kit(valid, "--jobs", "2")
        rk_bad, bad_summary = _rooms_kit(invalid)
        cj = _check_jsonschema(data.splitlines()[: args.baseline_documents], work)
        broken = int(str(bad_summary["invalid"]))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"corpus: {args.documents} games#room documents ({args.invalid_documents} in the invalid one), {size / 1024:.1f} KiB each on average"
    )
    print()
    print("| measurement | documents/s | ratio to floor | ratio to check-jsonschema |")
    print("|---|---:|---:|---:|")
    for name, rate in [
        ("orjson parse loop (floor)", floor),
        ("rooms-kit validate (valid corpus)", rk),
        ("rooms-kit validate --jobs 2 (valid corpus)", rk2),
        ("rooms-kit validate (10 % invalid corpus)", rk_bad),
        (f"check-jsonschema ({args.baseline_documents} documents of the valid corpus)", cj),
    ]:
        print(f"| {name} | {rate:,.0f} | {rate / floor:.2f} | {rate / cj:.1f} |")
    print()
    print(
        f"invalid corpus: {planted} documents broken on purpose; {broken} reported invalid "
        f"with {bad_summary['errors']} located errors"
    )
    goal_floor, goal_baseline = rk / floor >= 0.5, rk / cj >= 50
    print(f"goal >= 0.5 x floor: {'met' if goal_floor else 'NOT met'} ({rk / floor:.2f})")
    print(f"goal >= 50 x check-jsonschema: {'met' if goal_baseline else 'NOT met'} ({rk / cj:.0f})")


if __name__ == "__main__":
    main()

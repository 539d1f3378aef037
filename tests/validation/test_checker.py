"""The checker's two routes (fast path first, or straight to the precise engine) agree."""

from __future__ import annotations

import io

import orjson
import pytest

from rooms_kit.validation import Validators, run
from rooms_kit.validation.reading import LineCount, Record, ndjson_records
from rooms_kit.validation.run import Checker, Result
from tests.support.schema_helpers import EXAMPLES

VALIDATORS = Validators.load()
GOOD = (EXAMPLES / "valid" / "room.json").read_bytes().replace(b"\n", b"")
BAD = orjson.dumps(
    orjson.loads((EXAMPLES / "invalid" / "room" / "status-unknown-value.json").read_bytes())
)
NINETEEN = b'{"kind": "games#played", "timeMillis": "9223372036854775807"}'  # valid, slow path
LINES = [BAD] * 60 + [GOOD, NINETEEN, b"{not json", BAD, b"[1]", b'{"kind":"games#x"}'] * 5
LINES += [GOOD] * 80 + [BAD, NINETEEN]


def _results(lines: list[bytes]) -> tuple[list[Result | None], list[float]]:
    checker = Checker(VALIDATORS, kind=None, max_errors=10)
    results, shares = [], []
    for number, raw in enumerate(lines, start=1):
        results.append(checker.check(Record("stream", number, number, raw=raw)))
        shares.append(checker._invalid_share)
    return results, shares


def test_both_routes_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    adaptive, shares = _results(LINES)
    # The run of invalid documents sent the checker to the precise engine, the valid ones back.
    assert max(shares) > run.SKIP_FAST_ABOVE
    assert shares[-3] < run.SKIP_FAST_ABOVE
    monkeypatch.setattr(run, "SKIP_FAST_ABOVE", 2.0)  # always the fast path first
    fast_first, _ = _results(LINES)
    monkeypatch.setattr(run, "SKIP_FAST_ABOVE", 0.0)  # never the fast path
    direct, _ = _results(LINES)
    assert adaptive == fast_first == direct
    keywords = [r.issues[0].keyword if r else None for r in adaptive[60:66]]
    assert keywords == [None, None, "json", "enum", "type", "kind"]
    assert adaptive[-1] is None


def test_lines_the_fast_path_takes_never_become_records() -> None:
    # The reader asks ``quick`` first; only declined lines come back, marked, with their numbers.
    lines = [b"", *LINES[58:70], b"   "]
    checker = Checker(VALIDATORS, kind=None, max_errors=10)
    count = LineCount()
    stream = io.BufferedReader(io.BytesIO(b"\n".join(lines) + b"\n"))  # type: ignore[arg-type]
    records = list(ndjson_records("s", stream, 1 << 20, None, count=count, accept=checker.quick))
    assert all(record.declined for record in records)
    assert (count.lines, count.documents) == (len(lines), len(lines) - 2)
    assert checker.accepted == sum(1 for line in lines if line == GOOD)
    assert [r.line for r in records] == [
        n + 1 for n, line in enumerate(lines) if line.strip() and line != GOOD
    ]
    checked = [found for record in records if (found := checker.check(record))]
    plain = Checker(VALIDATORS, kind=None, max_errors=10)
    numbered = [(n + 1, line) for n, line in enumerate(lines) if line.strip()]
    expected = [
        found
        for index, (lineno, line) in enumerate(numbered, start=1)
        if (found := plain.check(Record("s", index, lineno, raw=line)))
    ]
    assert checked == expected
    assert len(expected) == sum(
        1 for line in lines if line.strip() and line not in (GOOD, NINETEEN)
    )

"""The checker's two routes (fast path first, or straight to the precise engine) agree."""

from __future__ import annotations

import pytest

from rooms_kit.validation import Validators, run
from rooms_kit.validation.reading import Record
from rooms_kit.validation.run import Checker, Result
from tests.support.schema_helpers import EXAMPLES

VALIDATORS = Validators.load()
GOOD = (EXAMPLES / "valid" / "room.json").read_bytes().replace(b"\n", b"")
BAD = (EXAMPLES / "invalid" / "room" / "status-unknown-value.json").read_bytes()
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

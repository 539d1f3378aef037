"""How much CPU the proxy's judge spends on one large answer (part of ``bench/proxy.py``).

The judge (``rooms_kit.traffic.checking.Judge``, every per-exchange check of the contract suite)
runs in this process on answers as large as the proxy reads by default (8 MiB), built from
``corpus.room``: a valid list of rooms, the same list with every room wrong, and one room whose
participants are all wrong. Each is judged a few times with the verdict cache off, and the least
CPU time (``time.process_time``) is kept: for the whole judging; for the one reading the checks
share (``CheckContext.body``); for the costly checks apart, the body already parsed; and for the
baseline, a bare ``orjson.loads`` of the same bytes.

Run alone: ``.venv/bin/python bench/judging.py`` (prints the table).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import room

from rooms_kit.contract.checks import RESPONSE_CHECKS, CheckContext
from rooms_kit.contract.http import Exchange, RecordedRequest, RecordedResponse
from rooms_kit.traffic.checking import Judge, Limits

LIMIT = Limits().max_response_bytes
ROUNDS = 3
TIMED = ("openapi_response_schema", "strict_schema", "int64_strings")


@dataclass(frozen=True)
class Body:
    label: str
    operation: str
    raw: bytes
    items: int  # rooms in the list, or participants in the room


@dataclass(frozen=True)
class Judged:
    body: Body
    cpu: float  # seconds of every check together
    checks: dict[str, float]  # seconds of each of TIMED, the body already parsed
    json: float  # seconds of the parse the checks share
    parse: float  # seconds of a bare orjson.loads
    verdict: str  # the failed checks, or "no violation"


def _up_to(
    limit: int, head: bytes, tail: bytes, parts: Callable[[int], bytes]
) -> tuple[bytes, int]:
    """``head`` + parts joined by commas + ``tail``, as many parts as fit in ``limit`` bytes."""
    chosen: list[bytes] = []
    size = len(head) + len(tail)
    while True:
        part = parts(len(chosen))
        if size + len(part) + 2 > limit:
            return head + b", ".join(chosen) + tail, len(chosen)
        chosen.append(part)
        size += len(part) + 2


def bodies(limit: int = LIMIT) -> list[Body]:
    rng = random.Random(2026)
    rooms = [room(rng) for _ in range(64)]
    head, tail = b'{"kind": "games#roomList", "items": [', b"]}"

    def good(n: int) -> bytes:
        return orjson.dumps(dict(rooms[n % 64], roomId=f"room-{n}"))

    def wrong(n: int) -> bytes:  # roomStatusVersion as a string, every time
        return orjson.dumps(dict(rooms[n % 64], roomId=f"room-{n}", roomStatusVersion=str(n)))

    valid, count = _up_to(limit, head, tail, good)
    bad, _ = _up_to(limit, head, tail, wrong)
    one = dict(rooms[0])
    people = one.pop("participants")
    room_head = orjson.dumps(one)[:-1] + b', "participants": ['

    def person(n: int) -> bytes:  # connected as a string, every time
        return orjson.dumps(dict(people[n % len(people)], id=f"p{n}", connected="yes"))

    crowd, crowded = _up_to(limit, room_head, b"]}", person)
    return [
        Body("list of rooms, all valid", "games.rooms.list", valid, count),
        Body("the same list, every room wrong", "games.rooms.list", bad, count),
        Body("one room, every participant wrong", "games.rooms.get", crowd, crowded),
    ]


def _exchange(body: Body) -> Exchange:
    url = "http://127.0.0.1/games/v1/rooms" + ("/r" if body.operation.endswith("get") else "")
    headers = (("content-type", "application/json"),)
    return Exchange(
        body.operation,
        RecordedRequest("GET", url, (), None),
        RecordedResponse(200, headers, body.raw),
    )


def _timed(action: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        action()
        best = min(best, time.process_time() - started)
    return best


def judge(body: Body, context: CheckContext) -> Judged:
    exchange = _exchange(body)
    judge = Judge(context.openapi, cache_size=0)
    verdicts = judge.run(exchange)
    failed = sorted({name for name, failure in verdicts if failure is not None})
    checks = dict(RESPONSE_CHECKS)

    def one(name: str) -> Callable[[], Any]:
        def run() -> None:
            try:
                checks[name](context, exchange)
            except AssertionError:  # ContractFailure: the violation is what is measured
                pass

        return run

    def parse() -> None:
        context.forget()
        context.body(exchange)

    whole = _timed(lambda: judge.run(exchange))
    parsed = _timed(parse)
    each = {name: _timed(one(name)) for name in TIMED}
    context.forget()
    return Judged(
        body,
        whole,
        each,
        parsed,
        _timed(lambda: orjson.loads(body.raw)),
        ", ".join(failed) or "no violation",
    )


def run() -> list[Judged]:
    context = Judge().context
    return [judge(body, context) for body in bodies()]


def table(found: list[Judged]) -> list[str]:
    lines = [
        "| answer (8 MiB) | items | all checks, ms CPU | of which: the shared reading | "
        "openapi_response_schema | strict_schema | int64_strings | bare orjson.loads | "
        "all / orjson | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for judged in found:
        ms = {name: f"{seconds * 1000:,.0f}" for name, seconds in judged.checks.items()}
        lines.append(
            f"| {judged.body.label} | {judged.body.items:,} | {judged.cpu * 1000:,.0f} | "
            f"{judged.json * 1000:,.0f} | {ms['openapi_response_schema']} | {ms['strict_schema']} | {ms['int64_strings']} | "
            f"{judged.parse * 1000:,.0f} | {judged.cpu / judged.parse:,.1f} | {judged.verdict} |"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(table(run())))

"""The checks of one answer read its body fewer times, with the same verdicts.

* ``bounded.read_json``: orjson first, Python's json for what orjson refuses; the same values, or
  the same refusal, as Python's json alone (the checks' reading before).
* The int64 check walks only where an int64 field can be (``_int64_plan``); its findings are those
  of a walk that resolves and tries every property of every value, as the check did before.
* The schema checks take the body as read once (``read_quickly``) instead of parsing it again.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import orjson
import pytest

from rooms_kit.contract.bounded import json_problem, read_json
from rooms_kit.contract.checks import (
    MAX_MESSAGE_CHARS,
    CheckContext,
    _int64_problems,
    _is_int64,
    run_response_checks,
)
from rooms_kit.contract.failures import clip
from rooms_kit.contract.http import Exchange, RecordedRequest, RecordedResponse
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.formats import INT64_MAX, INT64_MIN
from tests.contract.test_quick_pass import ROOM

JSON = (("content-type", "application/json"),)


@pytest.fixture(scope="module")
def ctx() -> CheckContext:
    return CheckContext(OpenApi.load())


def _python_json(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"))


@pytest.mark.parametrize(
    ("body", "quick"),
    [
        (b'{"a": 1, "b": [1.5, -0.0, 1e2, "\\u00e9"], "a": 3}', True),  # a repeated key: the last
        (b'{"big": 123456789012345678901234567890}', False),  # past 64 bits: json reads it
        (b'{"n": NaN, "i": -Infinity}', False),
        (b'{"lone": "\\ud800"}', False),
        (b'{"huge": 1e400}', None),  # infinity for both, or json alone
        (b"[" * 200 + b"]" * 200, True),
    ],
)
def test_read_json_gives_what_python_json_gives(body: bytes, quick: bool | None) -> None:
    value, by_orjson = read_json(body)
    expected = _python_json(body)
    if quick is not None:
        assert by_orjson is quick
    assert _same(value, expected)


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to itself and the sign of a zero and int/float told apart."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"a": 1} x',
        "\ufeff{}".encode(),
        b"\xff{}",
        b"[" * 513 + b"]" * 513,
        '{"a": 1}'.encode("utf-16-le"),
    ],
)
def test_read_json_refuses_what_the_checks_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        read_json(body)


def _nested(depth: int, inner: bytes = b"1") -> bytes:
    """Alternating objects and arrays, ``depth`` levels deep around ``inner``."""
    body = inner
    for level in range(depth):
        body = b'{"k": %s}' % body if level % 2 else b"[%s]" % body
    return body


DEPTHS = [
    _nested(512),
    _nested(513),
    _nested(512, b"[]"),  # an empty container is a level too
    _nested(1024),  # past the checks' bound, within orjson's own
    _nested(1100),  # past orjson's too: json_problem says it
    b'["' + b"[" * 2000 + b'"]',  # brackets in a string nest nothing
    b'"' + b"{" * 2000 + b'"',  # nor at the top level
    b"[" + b"[]," * 600 + b"[]]",  # wide, not deep
    b'[{"a": "\\\\"}, ' + _nested(513) + b"]",  # an escaped backslash ends no string early
]


@pytest.mark.parametrize("body", DEPTHS, ids=range(len(DEPTHS)))
def test_read_json_measures_depth_as_json_problem_does(body: bytes) -> None:
    """orjson reads first now and the depth is measured on its values (no long regular
    expression holding the interpreter lock); the verdict and its wording are json_problem's."""
    problem = json_problem(body)
    if problem is None:
        value, by_orjson = read_json(body)
        assert by_orjson
        assert value == orjson.loads(body)  # json itself may run out of stack under pytest
    else:
        with pytest.raises(ValueError) as refused:
            read_json(body)
        assert str(refused.value) == problem == "JSON nested deeper than 512 levels"


@pytest.mark.parametrize(
    ("body", "quick"),
    [
        (b'{"id": "9223372036854775807", "n": 9999999999999999999}', True),  # 19 digits fit
        (b'{"n": 18446744073709551615, "m": -9223372036854775808}', False),  # fit, but 20 / -19
        (b'{"n": 18446744073709551616}', False),  # past 64 bits: orjson makes it a float
        (b'{"n": -9223372036854775809}', False),  # below: the same
        (b'{"n": [-999999999999999999, 9999999999999999999]}', True),  # -18 and 19 digits
        (b'{"s": "x-1234567890123456789y"}', False),  # a run in a string costs the same
        (b'{"n": 1234567890.1234567890123}', True),  # the point breaks the run
        (b'{"n": 1e-1234567890123456789}', False),
    ],
)
def test_a_run_that_may_not_fit_64_bits_takes_json(body: bytes, quick: bool | None) -> None:
    value, by_orjson = read_json(body)
    if quick is not None:
        assert by_orjson is quick
    assert _same(value, _python_json(body))


def _reference_int64(
    ctx: CheckContext, schema: Any, value: Any, at: str
) -> list[tuple[str, str, str]]:
    """The int64 check's walk as it was: resolve every node, try every property."""
    schema = ctx.openapi.resolve(schema)
    if _is_int64(ctx, schema):
        if not isinstance(value, str):
            shown = clip(repr(value), MAX_MESSAGE_CHARS)
            return [
                (at or "/", "type", f"{type(value).__name__} {shown} where an int64 string belongs")
            ]
        if not ctx.int64_pattern.search(value) or not INT64_MIN <= int(value) <= INT64_MAX:
            return [
                (
                    at or "/",
                    "int64",
                    f"{clip(repr(value), MAX_MESSAGE_CHARS)} is not an int64 in decimal digits",
                )
            ]
        return []
    found: list[tuple[str, str, str]] = []
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                found += _reference_int64(ctx, sub, value[name], f"{at}/{name}")
    elif isinstance(value, list) and "items" in schema:
        items = ctx.openapi.resolve(schema["items"])
        for index, item in enumerate(value):
            found += _reference_int64(ctx, items, item, f"{at}/{index}")
    return found


WRONG_INT64 = [12, "007", "9223372036854775808", None, 1.5, ["1"], {"a": "1"}, "-1", "x" * 300]


def _mutated(rng: random.Random, value: Any) -> Any:
    """``value`` with some strings, numbers and containers replaced by wrong int64 values."""
    if isinstance(value, dict):
        return {k: _mutated(rng, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mutated(rng, v) for v in value]
    if rng.random() < 0.3:
        return rng.choice(WRONG_INT64)
    return value


@pytest.mark.parametrize("seed", range(40))
def test_the_int64_walk_finds_what_the_full_walk_found(ctx: CheckContext, seed: int) -> None:
    rng = random.Random(seed)
    rooms = [_mutated(rng, dict(ROOM, roomId=f"r{n}")) for n in range(rng.randint(0, 6))]
    for operation, body in (
        ("games.rooms.list", {"kind": "games#roomList", "items": rooms}),
        ("games.rooms.get", rooms[0] if rooms else _mutated(rng, ROOM)),
        ("games.rooms.list", {"kind": "games#roomList", "items": [*rooms, 5, "x", [rooms]]}),
    ):
        schema = ctx.openapi.response_schema(operation, 200)
        assert schema is not None
        assert _int64_problems(ctx, schema, body) == _reference_int64(ctx, schema, body, "")


def test_a_wrong_int64_in_every_room_of_a_long_list_is_found_in_each(ctx: CheckContext) -> None:
    schema = ctx.openapi.response_schema("games.rooms.list", 200)
    assert schema is not None
    room = dict(ROOM, creationDetails=dict(ROOM["creationDetails"], modifiedTimestampMillis=7))
    body = {"kind": "games#roomList", "items": [room] * 3000}
    found = _int64_problems(ctx, schema, body)
    assert found == _reference_int64(ctx, schema, body, "")
    assert len(found) == 3000
    assert found[-1] == (
        "/items/2999/creationDetails/modifiedTimestampMillis",
        "type",
        "int 7 where an int64 string belongs",
    )


@pytest.mark.parametrize(
    ("body", "failing"),
    [
        (
            {"kind": "games#room", "roomId": "r", "status": "ROOM_GONE"},
            ["openapi_response_schema", "strict_schema"],
        ),
        (
            {"kind": "games#room", "roomId": "r", "roomStatusVersion": float("nan")},
            ["openapi_response_schema", "strict_schema"],
        ),
        (
            {"kind": "games#room", "roomId": "r", "roomStatusVersion": 2**70},
            ["openapi_response_schema", "strict_schema"],
        ),
        ({"kind": "games#room", "roomId": "\ud800"}, []),
        (
            {"error": {"code": 404, "message": "gone", "errors": [{"reason": "x"}]}},
            ["error_envelope"],
        ),
    ],
)
def test_the_verdicts_are_those_of_the_body_read_by_python_json(
    ctx: CheckContext, body: dict[str, Any], failing: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # each body read once by orjson, or (NaN, 2**70, a lone surrogate) by json: the same
    # verdicts as when every check read the body with json alone
    status = 404 if "error" in body else 200
    raw = json.dumps(body).encode()
    request = RecordedRequest("GET", "http://127.0.0.1:9/games/v1/rooms/r", (), None)
    exchange = Exchange("games.rooms.get", request, RecordedResponse(status, JSON, raw))
    verdicts = [
        (name, f and (f.title, f.message)) for name, f in run_response_checks(ctx, exchange)
    ]
    assert sorted(name for name, failure in verdicts if failure) == failing
    monkeypatch.setattr(ctx, "read", lambda exchange: (_python_json(exchange.response.body), False))
    slow = [(name, f and (f.title, f.message)) for name, f in run_response_checks(ctx, exchange)]
    assert verdicts == slow


def test_the_int64_plans_do_not_grow_with_the_exchanges(ctx: CheckContext) -> None:
    # every exchange gets a fresh copy of its response schema; a plan per copy filled the table
    # until it was emptied (and a plan being worked out was visible to another thread meanwhile)
    room = dict(ROOM, creationDetails=dict(ROOM["creationDetails"], modifiedTimestampMillis=7))
    body = {"kind": "games#roomList", "items": [room]}

    def plans_after_one() -> int:
        schema = ctx.openapi.response_schema("games.rooms.list", 200)
        assert schema is not None
        assert len(_int64_problems(ctx, schema, body)) == 1
        return len(ctx.int64_plans)

    first = plans_after_one()
    assert [plans_after_one() for _ in range(20)] == [first] * 20


def test_integers_near_the_64_bit_edges_read_as_json_reads_them() -> None:
    """A differential walk over the edges where orjson turns an integer into a float."""
    edges = [2**63, 2**64, 10**18, 10**19, 10**20]
    numbers = [
        sign * (edge + offset) for edge in edges for offset in range(-3, 4) for sign in (1, -1)
    ]
    rng = random.Random(7)
    numbers += [rng.randrange(-(2**66), 2**66) for _ in range(500)]
    for number in numbers:
        body = b'{"n": %d}' % number
        value, _ = read_json(body)
        assert _same(value, _python_json(body)), body

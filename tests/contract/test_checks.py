"""Response checks on hand-made exchanges, and the curl command that reproduces a request."""

from __future__ import annotations

import json
import shlex

import pytest

from rooms_kit.contract.checks import (
    CheckContext,
    error_envelope,
    int64_strings,
    json_body,
    openapi_response_schema,
    run_response_checks,
)
from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.http import Exchange, RecordedRequest, RecordedResponse
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.contract.secrets import Secrets

JSON = (("content-type", "application/json; charset=UTF-8"),)


@pytest.fixture(scope="module")
def ctx() -> CheckContext:
    return CheckContext(OpenApi.load())


def _exchange(status: int, body: object, operation: str = "games.rooms.get") -> Exchange:
    request = RecordedRequest(
        "POST",
        "http://127.0.0.1:9/games/v1/rooms/create?language=fr",
        (("Authorization", "Bearer dev-alice"), ("Content-Type", "application/json")),
        b'{"invitedPlayerIds": ["o\'brien"]}',
    )
    return Exchange(operation, request, RecordedResponse(status, JSON, json.dumps(body).encode()))


@pytest.mark.parametrize(
    "value", ["9223372036854775808", "007", "1.5", " 1", "12\n", 12, "-9223372036854775809"]
)
def test_int64_strings_refuses(ctx: CheckContext, value: object) -> None:
    room = {"kind": "games#room", "creationDetails": {"modifiedTimestampMillis": value}}
    with pytest.raises(ContractFailure) as failure:
        int64_strings(ctx, _exchange(200, room))
    assert failure.value.check == "int64_strings"
    assert "/creationDetails/modifiedTimestampMillis" in failure.value.message


@pytest.mark.parametrize("value", ["0", "9223372036854775807", "-9223372036854775808"])
def test_int64_strings_accepts(ctx: CheckContext, value: str) -> None:
    room = {"kind": "games#room", "lastUpdateDetails": {"modifiedTimestampMillis": value}}
    int64_strings(ctx, _exchange(200, room))


@pytest.mark.parametrize(
    "encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-8-sig"]
)
def test_json_body_refuses_a_body_in_another_encoding(ctx: CheckContext, encoding: str) -> None:
    """The bytes of UTF-16 or UTF-32 JSON are valid UTF-8 (ASCII and NULs), and json.loads given
    bytes guessed the encoding and read them; a UTF-8 byte order mark was skipped. Before, all of
    these passed json_body and the schema checks."""
    text = json.dumps({"kind": "games#roomList", "items": []})
    exchange = _exchange(200, None, "games.rooms.list")
    exchange = Exchange(
        exchange.operation,
        exchange.request,
        RecordedResponse(200, JSON, text.encode(encoding)),
    )
    with pytest.raises(ContractFailure) as failure:
        json_body(ctx, exchange)
    assert failure.value.check == "json_body"
    assert failure.value.title.startswith("body is not JSON: "), failure.value.title


def test_envelope_code_must_match_status(ctx: CheckContext) -> None:
    body = {
        "error": {
            "code": 400,
            "message": "x",
            "errors": [{"domain": "global", "reason": "notFound", "message": "x"}],
        }
    }
    failed = {name for name, failure in run_response_checks(ctx, _exchange(404, body)) if failure}
    assert failed == {"error_envelope"}


def test_curl_reproduces_method_headers_body_and_url() -> None:
    """The token is never in the command: token N is the shell variable ROOMS_KIT_TOKEN_N."""
    plain = _exchange(200, {})
    request = RecordedRequest(
        plain.request.method,
        plain.request.url,
        plain.request.headers,
        plain.request.body,
        Secrets.of(["dev-bob", "dev-alice"]),
    )
    exchange = Exchange(plain.operation, request, plain.response)
    command = exchange.curl()
    assert "dev-alice" not in command
    assert '-H "Authorization: Bearer $ROOMS_KIT_TOKEN_2"' in command
    words = shlex.split(command)
    assert words[:2] == ["curl", "-sS"]
    assert words[words.index("-X") + 1] == "POST"
    assert "Authorization: Bearer $ROOMS_KIT_TOKEN_2" in words
    assert words[words.index("--data-binary") + 1] == '{"invitedPlayerIds": ["o\'brien"]}'
    assert words[-1] == "http://127.0.0.1:9/games/v1/rooms/create?language=fr"


def test_public_api_is_complete() -> None:
    """``__all__`` (kept in order by ruff) names every public object of the package, once."""
    import types  # noqa: PLC0415

    from rooms_kit import contract  # noqa: PLC0415

    public = {
        name
        for name, value in vars(contract).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert len(set(contract.__all__)) == len(contract.__all__)
    assert set(contract.__all__) == public


def _rooms(count: int, **changes: object) -> list[dict[str, object]]:
    room = {"kind": "games#room", "roomId": "r", "status": "ROOM_ACTIVE", "roomStatusVersion": 1}
    return [dict(room, roomId=f"r{n}", **changes) for n in range(count)]


def test_rooms_only_python_reads_are_judged_sixteen_at_a_time(ctx: CheckContext) -> None:
    # a lone surrogate: Python's json reads it, orjson (and so jsonschema-rs) cannot; such rooms
    # go to the Python validator, 16 of them, and the rest are said to be not judged (room 30's
    # mistake among them) rather than judged for seconds or passed in silence
    rooms = _rooms(40, description="\ud800")
    rooms[30]["roomStatusVersion"] = "x"
    body = {"kind": "games#roomList", "items": rooms}
    with pytest.raises(ContractFailure) as failure:
        openapi_response_schema(ctx, _exchange(200, body, "games.rooms.list"))
    text = (
        "24 item(s) not judged (the first at /items/16): they hold values only Python reads "
        "(NaN, Infinity, integers beyond 64 bits, lone surrogates), and 16 such items per list "
        "is what is judged in detail"
    )
    assert (failure.value.title, failure.value.message) == (
        "24 item(s) of the 200 body not judged",
        text,
    )
    assert [(f.pointer, f.keyword, f.text) for f in failure.value.findings] == [
        ("/items/*", "unjudged", text)
    ]
    rooms[3]["roomStatusVersion"] = "y"  # within the 16: described, and counted
    with pytest.raises(ContractFailure) as failure:
        openapi_response_schema(ctx, _exchange(200, body, "games.rooms.list"))
    assert failure.value.title == "1 schema violation(s) in the 200 body"
    assert (
        failure.value.message == f"/items/3/roomStatusVersion: 'y' is not of type 'integer'; {text}"
    )


def test_a_long_error_envelope_is_described_in_part(ctx: CheckContext) -> None:
    entries = [{"domain": "global", "message": f"m{n}"} for n in range(50_000)]  # no reason
    body = {"error": {"code": 404, "message": "gone", "errors": entries}}
    with pytest.raises(ContractFailure) as failure:
        error_envelope(ctx, _exchange(404, body))
    listed = "; ".join(f"/error/errors/{n}: 'reason' is a required property" for n in range(5))
    assert failure.value.message == (
        f"{listed}; 49984 more failing item(s) counted, not described (the first at "
        "/error/errors/16)"
    )


def test_a_million_wrong_items_are_told_apart_not_read(ctx: CheckContext) -> None:
    # jsonschema-rs makes an object of every error it reports; past 20,000 of them the items
    # are only told good from bad, so the count becomes a lower bound (and says so)
    body = {"kind": "games#roomList", "items": list(range(1_000_000))}
    with pytest.raises(ContractFailure) as failure:
        openapi_response_schema(ctx, _exchange(200, body, "games.rooms.list"))
    listed = "; ".join(f"/items/{n}: {n} is not of type 'object'" for n in range(5))
    assert (failure.value.title, failure.value.message) == (
        "at least 1000000 schema violation(s) in the 200 body",
        f"{listed}; 999984 more failing item(s) counted, not described (the first at /items/16)",
    )


def test_json_body_names_an_integer_too_long_to_read(ctx: CheckContext) -> None:
    """Python's int() stops at 4300 digits; its advice to call sys.set_int_max_str_digits() came
    through as the title, which nobody running the suite or the proxy can follow."""
    body = b'{"kind": "games#room", "roomStatusVersion": ' + b"9" * 5000 + b"}"
    exchange = _exchange(200, None)
    exchange = Exchange(exchange.operation, exchange.request, RecordedResponse(200, JSON, body))
    with pytest.raises(ContractFailure) as failure:
        json_body(ctx, exchange)
    assert failure.value.title == (
        "body is not JSON: an integer has more than 4300 digits, more than the checks read"
    )

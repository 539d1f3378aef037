"""Response checks on hand-made exchanges, and the curl command that reproduces a request."""

from __future__ import annotations

import json
import shlex

import pytest

from rooms_kit.contract.checks import (
    CheckContext,
    int64_strings,
    json_body,
    run_response_checks,
)
from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.http import Exchange, RecordedRequest, RecordedResponse
from rooms_kit.contract.openapi import OpenApi

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
    exchange = _exchange(200, {})
    words = shlex.split(exchange.curl())
    assert words[:2] == ["curl", "-sS"]
    assert words[words.index("-X") + 1] == "POST"
    assert "Authorization: Bearer dev-alice" in words
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

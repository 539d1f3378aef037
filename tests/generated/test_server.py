"""The generated ASGI stub: routing, parameters, bodies, auth and the error envelope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rooms_api.models import Room
from rooms_api.server import create_app

from tests.generated.stub_support import GOOD_TOKEN, FakeHandler, authenticate, call

AUTH = {"Authorization": f"Bearer {GOOD_TOKEN}"}


@pytest.fixture
def handler() -> FakeHandler:
    fake = FakeHandler()
    fake.rooms["r1"] = Room(room_id="r1", status="ROOM_ACTIVE")
    fake.rooms["a/b"] = Room(room_id="a/b")
    return fake


@pytest.fixture
def app(handler: FakeHandler) -> Any:
    return create_app(handler, authenticate)


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == response.status_code
    assert error["errors"][0]["domain"] == "global"
    return error


def test_create_passes_a_typed_body_and_serialises_by_wire_name(
    app: Any, handler: FakeHandler
) -> None:
    response = call(
        app, "POST", "/games/v1/rooms/create?language=de", json={"variant": 3}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "kind": "games#room",
        "roomId": "room-3",
        "variant": 3,
        "description": "created by alice",
    }
    name, (principal, body), kwargs = handler.calls[-1]
    assert (name, principal.player_id, body.variant, kwargs) == (
        "create",
        "alice",
        3,
        {"language": "de"},
    )


def test_percent_encoded_slash_stays_inside_the_room_id(app: Any) -> None:
    response = call(app, "GET", "/games/v1/rooms/a%2Fb?alt=json", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["roomId"] == "a/b"


def test_dismiss_answers_204_without_body_and_needs_no_content_type(app: Any) -> None:
    response = call(app, "POST", "/games/v1/rooms/r1/dismiss?", headers=AUTH)
    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"variant": "x"}, "/variant"),
        ({"varient": 1}, "/varient"),
        ({"requestId": "007"}, "/requestId"),
        (
            {"autoMatchingCriteria": {"exclusiveBitmask": 5}},
            "/autoMatchingCriteria/exclusiveBitmask",
        ),
        ([], ""),
    ],
)
def test_bad_bodies_are_rejected_naming_the_pointer(app: Any, body: Any, pointer: str) -> None:
    response = call(app, "POST", "/games/v1/rooms/create", json=body, headers=AUTH)
    assert response.status_code == 400
    error = error_of(response)
    assert error["errors"][0]["reason"] == "invalid"
    assert error["errors"][0]["location"] == pointer
    assert f"'{pointer}'" in error["message"]


def test_tolerant_mode_accepts_unknown_properties(handler: FakeHandler) -> None:
    app = create_app(handler, authenticate, strict_requests=False)
    response = call(app, "POST", "/games/v1/rooms/create", json={"varient": 1}, headers=AUTH)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"{nope", b'{"variant": NaN}', b'{"variant": Infinity}', b"[" * 100_000, b'{"x": "\xff"}'],
    ids=["syntax", "nan", "infinity", "deeply-nested", "invalid-utf8"],
)
def test_body_that_is_not_json(app: Any, body: bytes) -> None:
    response = call(app, "POST", "/games/v1/rooms/create", content=body, headers=AUTH)
    assert response.status_code == 400
    assert error_of(response)["errors"][0]["reason"] == "parseError"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("maxResults=0", "maxResults"),
        ("maxResults=501", "maxResults"),
        ("maxResults=ten", "maxResults"),
        ("maxResults=1_0", "maxResults"),
        ("maxResults=%2B5", "maxResults"),
        ("maxResults=%205", "maxResults"),
        ("maxResults=5%20", "maxResults"),
        ("maxResults=%D9%A5", "maxResults"),  # ARABIC-INDIC DIGIT FIVE
        ("maxResults=%EF%BC%95", "maxResults"),  # FULLWIDTH DIGIT FIVE
        ("maxResults=0x10", "maxResults"),
        ("maxResults=" + "1" * 30, "maxResults"),
        ("consistencyToken=01", "consistencyToken"),
        ("consistencyToken=9223372036854775808", "consistencyToken"),
        ("alt=proto", "alt"),
        ("prettyPrint=maybe", "prettyPrint"),
        ("fields=items(", "fields"),
        ("bogus=1", "bogus"),
    ],
)
def test_bad_query_parameters(app: Any, query: str, parameter: str) -> None:
    response = call(app, "GET", f"/games/v1/rooms?{query}", headers=AUTH)
    assert response.status_code == 400
    assert error_of(response)["errors"][0]["location"] == parameter


def test_good_query_parameters_reach_the_handler(app: Any, handler: FakeHandler) -> None:
    query = "maxResults=500&pageToken=1&consistencyToken=-12&key=k&quotaUser=q&userIp=127.0.0.1"
    response = call(app, "GET", f"/games/v1/rooms?{query}", headers=AUTH)
    assert response.status_code == 200
    assert handler.calls[-1][2] == {"page_token": "1", "max": 500}
    assert [r["roomId"] for r in response.json()["items"]] == ["r1"]


def test_pretty_print_and_fields(app: Any) -> None:
    compact = call(app, "GET", "/games/v1/rooms/r1?prettyPrint=false", headers=AUTH)
    assert compact.text == '{"kind":"games#room","roomId":"r1","status":"ROOM_ACTIVE"}'
    pretty = call(app, "GET", "/games/v1/rooms/r1", headers=AUTH)
    assert "\n" in pretty.text
    assert json.loads(pretty.text) == json.loads(compact.text)
    partial = call(app, "GET", "/games/v1/rooms?fields=items/roomId,nextPageToken", headers=AUTH)
    assert partial.json() == {"items": [{"roomId": "a/b"}, {"roomId": "r1"}]}


@pytest.mark.parametrize(
    ("headers", "url", "status"),
    [
        ({}, "/games/v1/rooms/r1", 401),
        ({"Authorization": "Bearer nobody"}, "/games/v1/rooms/r1", 401),
        ({"Authorization": "Basic dG9rZW4tYWxpY2U="}, "/games/v1/rooms/r1", 401),
        ({}, f"/games/v1/rooms/r1?oauth_token={GOOD_TOKEN}", 200),
    ],
)
def test_authentication(app: Any, headers: dict[str, str], url: str, status: int) -> None:
    response = call(app, "GET", url, headers=headers)
    assert response.status_code == status
    if status == 401:
        assert error_of(response)["errors"][0]["reason"] == "authError"
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "url", "status", "reason"),
    [
        ("GET", "/games/v1/rooms/missing", 404, "notFound"),
        ("GET", "/games/v1/rooms/line%0Abreak", 404, "notFound"),
        ("GET", "/games/v1/", 404, "notFound"),
        ("GET", "/games/v1/elsewhere", 404, "notFound"),
        ("GET", "/other", 404, "notFound"),
        ("DELETE", "/games/v1/rooms/r1", 405, "httpMethodNotAllowed"),
        ("GET", "/games/v1/rooms/r1/join", 405, "httpMethodNotAllowed"),
        ("GET", "/games/v1/rooms/crash", 500, "backendError"),
        ("GET", "/games/v1/rooms/unfinished", 501, "notImplemented"),
    ],
)
def test_errors_use_the_envelope(
    app: Any, method: str, url: str, status: int, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = call(app, method, url, headers=AUTH)
    assert response.status_code == status
    assert error_of(response)["errors"][0]["reason"] == reason
    assert "Traceback" not in response.text


def test_missing_handler_method_gives_501() -> None:
    class OnlyGet:
        async def get(self, *args: Any, **kwargs: Any) -> Room:
            return Room(room_id="x")

    app = create_app(OnlyGet(), authenticate)
    assert call(app, "GET", "/games/v1/rooms/x", headers=AUTH).status_code == 200
    response = call(app, "POST", "/games/v1/rooms/x/decline", headers=AUTH)
    assert response.status_code == 501
    assert error_of(response)["errors"][0]["reason"] == "notImplemented"


def test_response_validation_catches_a_broken_reply(caplog: pytest.LogCaptureFixture) -> None:
    class Sloppy:
        async def get(self, *args: Any, **kwargs: Any) -> Room:
            return Room.model_validate({"roomId": "x", "roomStatusVerison": 2})

    lenient = create_app(Sloppy(), authenticate)
    assert call(lenient, "GET", "/games/v1/rooms/x", headers=AUTH).status_code == 200
    checked = create_app(Sloppy(), authenticate, validate_responses=True)
    response = call(checked, "GET", "/games/v1/rooms/x", headers=AUTH)
    assert response.status_code == 500
    assert "/roomStatusVerison" in error_of(response)["message"]


def test_negative_query_integer_is_a_number_below_the_minimum(app: Any) -> None:
    response = call(app, "GET", "/games/v1/rooms?maxResults=-5", headers=AUTH)
    assert response.status_code == 400
    assert "-5 is below 1" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("fields=" + "a(" * 500, "nested deeper than 16"),
        ("fields=" + "a/" * 4000 + "a", "characters long"),
        ("fields=" + "/".join(["a"] * 17), "nested deeper than 16"),
        ("fields=" + "a" * 2049, "characters long"),
    ],
    ids=["open-parentheses", "long-path", "deep-path", "long-name"],
)
def test_hostile_field_selections_are_400_even_without_a_token(
    app: Any, query: str, problem: str
) -> None:
    response = call(app, "GET", f"/games/v1/rooms/r1?{query}")
    assert response.status_code == 400
    error = error_of(response)
    assert error["errors"][0]["location"] == "fields"
    assert problem in error["message"]


def nested(depth: int) -> bytes:
    return b'{"capabilities": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [32, 1000, 1023])
def test_deep_json_is_400_naming_where_it_gets_too_deep(app: Any, depth: int) -> None:
    response = call(app, "POST", "/games/v1/rooms/create", content=nested(depth), headers=AUTH)
    assert response.status_code == 400
    error = error_of(response)
    pointer = "/capabilities" + "/0" * 31
    assert error["errors"][0] == {
        "domain": "global",
        "reason": "invalid",
        "message": f"Invalid value at '{pointer}': nested deeper than 32 levels",
        "location": pointer,
        "locationType": "body",
    }


def test_json_at_the_depth_limit_reaches_validation(app: Any) -> None:
    response = call(app, "POST", "/games/v1/rooms/create", content=nested(31), headers=AUTH)
    assert response.status_code == 400
    assert error_of(response)["errors"][0]["location"] == "/capabilities/0"


def small_app(handler: FakeHandler) -> Any:
    return create_app(handler, authenticate, max_body_bytes=100)


def test_declared_length_over_the_cap_is_413_before_the_body_is_read(
    handler: FakeHandler,
) -> None:
    reads: list[int] = []

    async def endless() -> Any:
        for _ in range(1000):
            reads.append(1)
            yield b" " * 1000

    headers = {**AUTH, "Content-Length": "1000000"}
    response = call(small_app(handler), "POST", "/games/v1/rooms/create", content=endless(),
                    headers=headers)  # fmt: skip
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    error = error_of(response)
    assert error["errors"][0]["reason"] == "requestTooLarge"
    assert error["message"] == (
        "The request body declares 1000000 bytes, more than the limit of 100 bytes"
    )
    assert handler.calls == []


def test_streamed_body_is_cut_at_the_cap(handler: FakeHandler) -> None:
    sent: list[int] = []

    async def chunks() -> Any:
        for _ in range(50):
            sent.append(1)
            yield b" " * 30

    response = call(small_app(handler), "POST", "/games/v1/rooms/create", content=chunks(),
                    headers=AUTH)  # fmt: skip
    assert response.status_code == 413
    assert error_of(response)["message"] == (
        "The request body is longer than the limit of 100 bytes"
    )
    assert handler.calls == []


def test_body_at_the_cap_is_accepted(handler: FakeHandler) -> None:
    body = b'{"invitedPlayerIds": ["bob"]}'.ljust(100)
    response = call(small_app(handler), "POST", "/games/v1/rooms/create", content=body,
                    headers=AUTH)  # fmt: skip
    assert response.status_code == 200


@pytest.mark.parametrize("length", ["-1", "ten", "1_0", "+5"])
def test_malformed_content_length_is_400(app: Any, length: str) -> None:
    scope_headers = [(b"content-length", length.encode()), (b"authorization", b"Bearer token-a")]
    status, body = raw_call(app, "POST", "/games/v1/rooms/create", scope_headers, b"{}")
    assert status == 400
    assert json.loads(body)["error"]["errors"][0]["location"] == "Content-Length"


def raw_call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, bytes]:
    """One request as a bare ASGI scope, for headers an HTTP client would refuse to send."""
    import asyncio  # noqa: PLC0415

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "server": ("127.0.0.1", 80), "client": None,
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_a_client_that_disconnects_mid_body_is_no_server_error(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio  # noqa: PLC0415

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/games/v1/rooms/create",
        "raw_path": b"/games/v1/rooms/create", "query_string": b"", "root_path": "",
        "headers": [(b"authorization", b"Bearer token-a")], "server": ("127.0.0.1", 80),
        "client": None,
    }  # fmt: skip
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"vari', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []

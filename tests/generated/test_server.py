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

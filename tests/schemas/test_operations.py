"""The operations file says exactly what the API facts say about the eight methods."""

from __future__ import annotations

from typing import Any

import pytest

from rooms_kit.schemas import SchemaSet

# name: (verb, path, query parameters, request kind, response kind, success status)
FACTS: dict[str, tuple[str, str, list[str], str | None, str | None, int]] = {
    "create": (
        "POST",
        "rooms/create",
        ["language", "consistencyToken"],
        "games#roomCreateRequest",
        "games#room",
        200,
    ),
    "decline": (
        "POST",
        "rooms/{roomId}/decline",
        ["language", "consistencyToken"],
        None,
        "games#room",
        200,
    ),
    "dismiss": ("POST", "rooms/{roomId}/dismiss", ["consistencyToken"], None, None, 204),
    "get": ("GET", "rooms/{roomId}", ["language", "consistencyToken"], None, "games#room", 200),
    "join": (
        "POST",
        "rooms/{roomId}/join",
        ["language", "consistencyToken"],
        "games#roomJoinRequest",
        "games#room",
        200,
    ),
    "leave": (
        "POST",
        "rooms/{roomId}/leave",
        ["language", "consistencyToken"],
        "games#roomLeaveRequest",
        "games#room",
        200,
    ),
    "list": (
        "GET",
        "rooms",
        ["pageToken", "language", "maxResults", "consistencyToken"],
        None,
        "games#roomList",
        200,
    ),
    "reportStatus": (
        "POST",
        "rooms/{roomId}/reportstatus",
        ["language", "consistencyToken"],
        "games#roomP2PStatuses",
        "games#roomStatus",
        200,
    ),
}


def _ops(schemas: SchemaSet) -> dict[str, dict[str, Any]]:
    return {op["name"]: op for op in schemas.operations["operations"]}


def test_exactly_the_eight_operations(schemas: SchemaSet) -> None:
    assert sorted(_ops(schemas)) == sorted(FACTS)


@pytest.mark.parametrize("name", sorted(FACTS))
def test_operation_matches_facts(schemas: SchemaSet, name: str) -> None:
    op = _ops(schemas)[name]
    verb, path, query, request, response, status = FACTS[name]
    assert op["id"] == f"games.rooms.{name}"
    assert (
        op["httpMethod"],
        op["path"],
        op["requestKind"],
        op["responseKind"],
        op["successStatus"],
    ) == (
        verb,
        path,
        request,
        response,
        status,
    )
    assert [p["name"] for p in op["parameters"] if p["in"] == "query"] == query
    path_params = [p for p in op["parameters"] if p["in"] == "path"]
    if "{roomId}" in path:
        assert [(p["name"], p["required"], p["schema"]) for p in path_params] == [
            ("roomId", True, {"type": "string"})
        ]
    else:
        assert path_params == []


def test_parameter_types_and_bounds(schemas: SchemaSet) -> None:
    for op in schemas.operations["operations"]:
        params = {p["name"]: p for p in op["parameters"]}
        assert params["consistencyToken"]["schema"] == {"$ref": "common.schema.json#/$defs/int64"}
        assert params["consistencyToken"]["required"] is False
        if "language" in params:
            assert params["language"]["schema"] == {"type": "string"}
    listing = {p["name"]: p for p in _ops(schemas)["list"]["parameters"]}
    assert listing["maxResults"]["schema"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 1,
        "maximum": 500,
    }
    assert listing["pageToken"]["schema"] == {"type": "string"}


def test_global_parameters(schemas: SchemaSet) -> None:
    params = {p["name"]: p["schema"] for p in schemas.operations["globalParameters"]}
    assert sorted(params) == [
        "alt",
        "fields",
        "key",
        "oauth_token",
        "prettyPrint",
        "quotaUser",
        "userIp",
    ]
    assert params["alt"]["enum"] == ["json"]
    assert params["prettyPrint"] == {"type": "boolean", "default": True}


def test_api_location_and_scopes(schemas: SchemaSet) -> None:
    api = schemas.operations["api"]
    assert (api["rootUrl"], api["servicePath"]) == ("https://www.googleapis.com/", "games/v1/")
    assert sorted(api["scopes"]) == [
        "https://www.googleapis.com/auth/games",
        "https://www.googleapis.com/auth/plus.login",
    ]

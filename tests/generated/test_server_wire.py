"""The generated stub with a ``WireRoomsHandler``: bodies and replies as wire dicts.

The stub still checks every body against the schemas before the handler sees it, and checks
replies with ``validate_responses``; only the pydantic models are left out.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rooms_api.models import RoomCreateRequest
from rooms_api.server import create_app

from tests.generated.stub_support import GOOD_TOKEN, authenticate, call

AUTH = {"Authorization": f"Bearer {GOOD_TOKEN}"}


class WireFake:
    """Answers ``create`` and ``get`` with dicts; ``get`` of ``broken`` breaks the schema."""

    wire_dicts = True

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    async def create(self, principal: Any, body: Any, **kwargs: Any) -> dict[str, Any]:
        self.bodies.append(body)
        return {"kind": "games#room", "roomId": "w1", "description": principal.player_id}

    async def get(self, principal: Any, room_id: str, **kwargs: Any) -> dict[str, Any]:
        if room_id == "broken":
            return {"kind": "games#room", "roomId": room_id, "roomStatusVerison": 2}
        return {"kind": "games#room", "roomId": room_id, "status": "ROOM_ACTIVE", "variant": 7}


def test_the_body_arrives_as_the_checked_wire_dict_and_the_reply_goes_out_as_written() -> None:
    handler = WireFake()
    app = create_app(handler, authenticate)
    body = {"invitedPlayerIds": ["bob"], "variant": 3, "requestId": "12"}
    response = call(app, "POST", "/games/v1/rooms/create", json=body, headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"kind": "games#room", "roomId": "w1", "description": "alice"}
    assert handler.bodies == [body]
    assert type(handler.bodies[0]) is dict


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"variant": "x"}, "/variant"),
        ({"varient": 1}, "/varient"),
        ({"invited_player_ids": ["bob"]}, "/invited_player_ids"),  # Python names are not wire
        ({"requestId": "007"}, "/requestId"),
        ([], ""),
        ("room", ""),
        (None, ""),
    ],
)
def test_bad_bodies_never_reach_a_wire_handler(body: Any, pointer: str) -> None:
    handler = WireFake()
    app = create_app(handler, authenticate)
    raw = json.dumps(body).encode()  # ``null`` included, which httpx's json= would leave out
    response = call(app, "POST", "/games/v1/rooms/create", content=raw, headers=AUTH)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["errors"][0]["reason"], error["errors"][0]["location"]) == ("invalid", pointer)
    assert handler.bodies == []
    # and the stub still serves the next request
    ok = call(app, "POST", "/games/v1/rooms/create", json={}, headers=AUTH)
    assert ok.status_code == 200
    assert handler.bodies == [{}]


def test_an_empty_body_is_an_empty_dict() -> None:
    handler = WireFake()
    app = create_app(handler, authenticate)
    response = call(app, "POST", "/games/v1/rooms/create", content=b"  ", headers=AUTH)
    assert response.status_code == 200
    assert handler.bodies == [{}]


def test_replies_are_checked_only_when_asked() -> None:
    lenient = create_app(WireFake(), authenticate)
    response = call(lenient, "GET", "/games/v1/rooms/broken", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["roomStatusVerison"] == 2
    checked = create_app(WireFake(), authenticate, validate_responses=True)
    response = call(checked, "GET", "/games/v1/rooms/broken", headers=AUTH)
    assert response.status_code == 500
    assert "/roomStatusVerison" in response.json()["error"]["message"]
    good = call(checked, "GET", "/games/v1/rooms/fine", headers=AUTH)
    assert good.status_code == 200
    assert good.json()["variant"] == 7


def test_fields_and_pretty_print_apply_to_wire_replies() -> None:
    app = create_app(WireFake(), authenticate)
    response = call(
        app, "GET", "/games/v1/rooms/r9?fields=roomId,status&prettyPrint=false", headers=AUTH
    )
    assert response.status_code == 200
    assert response.content == b'{"roomId":"r9","status":"ROOM_ACTIVE"}'
    pretty = call(app, "GET", "/games/v1/rooms/r9?fields=roomId", headers=AUTH)
    assert pretty.content == b'{\n  "roomId": "r9"\n}\n'


@pytest.mark.parametrize("flag", [False, 1, "yes", None])
def test_only_wire_dicts_true_selects_the_wire_path(flag: Any) -> None:
    class Typed(WireFake):
        wire_dicts = flag

    handler = Typed()
    app = create_app(handler, authenticate)
    response = call(app, "POST", "/games/v1/rooms/create", json={"variant": 3}, headers=AUTH)
    assert response.status_code == 200
    assert isinstance(handler.bodies[0], RoomCreateRequest)
    assert handler.bodies[0].variant == 3

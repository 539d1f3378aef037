"""The stub holds request bodies to the golden examples: valid ones pass, broken ones are refused
with the pointer recorded in ``schemas/examples/invalid/expected.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rooms_api.models import Room
from rooms_api.server import create_app

from rooms_kit.schemas import load_schemas
from tests.generated.stub_support import GOOD_TOKEN, FakeHandler, authenticate, call

EXAMPLES = load_schemas().directory / "examples"
AUTH = {"Authorization": f"Bearer {GOOD_TOKEN}"}
URL_OF_REQUEST_KIND = {
    "games#roomCreateRequest": "/games/v1/rooms/create",
    "games#roomJoinRequest": "/games/v1/rooms/r1/join",
    "games#roomLeaveRequest": "/games/v1/rooms/r1/leave",
    "games#roomP2PStatuses": "/games/v1/rooms/r1/reportstatus",
}
FILE_OF_REQUEST_KIND = {
    "games#roomCreateRequest": "room-create-request",
    "games#roomJoinRequest": "room-join-request",
    "games#roomLeaveRequest": "room-leave-request",
    "games#roomP2PStatuses": "room-p2p-statuses",
}
EXPECTED: dict[str, Any] = json.loads((EXAMPLES / "invalid" / "expected.json").read_text())
INVALID = sorted(name for name, case in EXPECTED.items() if case["kind"] in URL_OF_REQUEST_KIND)


def app(*, strict: bool) -> Any:
    handler = FakeHandler()
    handler.rooms["r1"] = Room(room_id="r1")
    return create_app(handler, authenticate, strict_requests=strict), handler


@pytest.mark.parametrize("kind", sorted(URL_OF_REQUEST_KIND))
def test_valid_golden_bodies_reach_the_handler_unchanged(kind: str) -> None:
    body = json.loads((EXAMPLES / "valid" / f"{FILE_OF_REQUEST_KIND[kind]}.json").read_text())
    stub, handler = app(strict=True)
    response = call(stub, "POST", URL_OF_REQUEST_KIND[kind], json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    received = next(arg for arg in handler.calls[-1][1] if hasattr(arg, "model_dump"))
    assert received.model_dump(mode="json", by_alias=True, exclude_unset=True) == body


def test_there_are_invalid_request_examples() -> None:
    assert len(INVALID) >= 4 * 3


@pytest.mark.parametrize("name", INVALID)
def test_invalid_golden_bodies_are_refused_with_their_pointer(name: str) -> None:
    case = EXPECTED[name]
    body = json.loads((EXAMPLES / "invalid" / name).read_text())
    for strict in (True, False):
        stub, handler = app(strict=strict)
        response = call(stub, "POST", URL_OF_REQUEST_KIND[case["kind"]], json=body, headers=AUTH)
        if case["strict"] and not strict:
            assert response.status_code == 200
            continue
        assert response.status_code == 400, response.text
        error = response.json()["error"]["errors"][0]
        assert error["reason"] == "invalid"
        assert error["locationType"] == "body"
        if case["error"]["keyword"] == "additionalProperties":
            assert error["location"].startswith(case["error"]["pointer"] + "/")
        else:
            assert error["location"] == case["error"]["pointer"]
        assert handler.calls == []


def test_examples_folder_layout_is_what_this_test_expects() -> None:
    for stem in FILE_OF_REQUEST_KIND.values():
        assert (EXAMPLES / "valid" / f"{stem}.json").is_file()
        assert Path(EXAMPLES / "invalid" / stem).is_dir()

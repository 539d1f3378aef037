"""Google's own Python client, built offline from ``discovery.json``, drives the stub."""

from __future__ import annotations

from typing import Any

import httplib2
import pytest
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from rooms_api.documents import discovery_document
from rooms_api.models import Room
from rooms_api.server import create_app

from tests.generated.stub_support import GOOD_TOKEN, FakeHandler, authenticate, call

ROOT = "https://www.googleapis.com"


class BridgeHttp:
    """Stands in for ``httplib2.Http``: forwards each request into the ASGI app in-process."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, Any, dict[str, str]]] = []

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        headers = dict(headers or {})
        self.seen.append((method, uri, body, headers))
        assert uri.startswith(ROOT + "/")
        headers["authorization"] = f"Bearer {GOOD_TOKEN}"
        response = call(self.app, method, uri.removeprefix(ROOT), content=body, headers=headers)
        meta = httplib2.Response({"status": str(response.status_code), **response.headers})
        return meta, response.content


@pytest.fixture
def handler() -> FakeHandler:
    fake = FakeHandler()
    fake.rooms["a/b"] = Room(room_id="a/b", status="ROOM_INVITING")
    fake.rooms["r1"] = Room(room_id="r1", status="ROOM_ACTIVE")
    return fake


@pytest.fixture
def http(handler: FakeHandler) -> BridgeHttp:
    return BridgeHttp(create_app(handler, authenticate, validate_responses=True))


@pytest.fixture
def rooms(http: BridgeHttp) -> Any:
    return build_from_document(discovery_document(), http=http).rooms()


def test_every_operation(rooms: Any, http: BridgeHttp, handler: FakeHandler) -> None:
    created = rooms.create(body={"variant": 7, "requestId": "12"}, language="fr").execute()
    assert created["variant"] == 7
    assert rooms.get(roomId="a/b", consistencyToken="5").execute()["roomId"] == "a/b"
    assert rooms.decline(roomId="a/b").execute()["status"] == "ROOM_INVITING"
    assert rooms.join(roomId="r1", body={"capabilities": ["c"]}).execute()["roomId"] == "r1"
    assert rooms.leave(roomId="r1", body={"reason": "GAME_LEFT"}).execute()["roomId"] == "r1"
    report = rooms.reportStatus(
        roomId="r1", body={"updates": [{"participantId": "p", "status": "CONNECTION_FAILED"}]}
    ).execute()
    assert report == {"kind": "games#roomStatus", "roomId": "r1", "status": "ROOM_ACTIVE",
                      "statusVersion": 1}  # fmt: skip
    assert rooms.dismiss(roomId="a/b").execute() == ""
    listed = rooms.list(maxResults=500).execute()
    assert [r["roomId"] for r in listed["items"]] == ["a/b", "r1", "room-3"]
    assert [c[0] for c in handler.calls] == [
        "create", "get", "decline", "join", "leave", "report_status", "dismiss", "list",
    ]  # fmt: skip
    # What the official client puts on the wire, as the stub has to accept it.
    get = http.seen[1]
    assert get[1] == f"{ROOT}/games/v1/rooms/a%2Fb?consistencyToken=5&alt=json"
    decline, dismiss = http.seen[2], http.seen[6]
    assert decline[2] is None and "content-type" not in decline[3]
    assert dismiss[1] == f"{ROOT}/games/v1/rooms/a%2Fb/dismiss?"
    assert dismiss[2] is None


def test_list_next_follows_pages(rooms: Any, handler: FakeHandler) -> None:
    seen = []
    request = rooms.list(maxResults=1)
    while request is not None:
        page = request.execute()
        seen.extend(r["roomId"] for r in page["items"])
        request = rooms.list_next(request, page)
    assert seen == ["a/b", "r1"]


def test_errors_reach_the_client_as_http_errors(rooms: Any) -> None:
    with pytest.raises(HttpError) as caught:
        rooms.get(roomId="missing").execute()
    assert caught.value.status_code == 404
    assert caught.value.error_details[0]["reason"] == "notFound"
    with pytest.raises(HttpError) as bad:
        rooms.create(body={"variant": "seven"}).execute()
    assert bad.value.status_code == 400
    assert bad.value.error_details[0]["location"] == "/variant"


def test_client_side_checks_come_from_the_document(rooms: Any) -> None:
    with pytest.raises(TypeError):
        rooms.get().execute()  # roomId is required
    with pytest.raises(TypeError):
        rooms.dismiss(roomId="r1", language="en")  # dismiss takes no language

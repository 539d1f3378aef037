"""Google's own Python client, built from generated/discovery.json, against ``rooms-kit serve``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httplib2
import pytest
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from rooms_api.documents import discovery_document

from tests.reference_server.support import ServerProcess


class BearerHttp(httplib2.Http):  # type: ignore[misc]
    """``httplib2.Http`` that signs every request with one player's bearer token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def request(
        self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any
    ) -> Any:
        headers = {**(headers or {}), "authorization": f"Bearer {self._token}"}
        return super().request(uri, method, body=body, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("google")
    with ServerProcess(
        "--dev-tokens", "--database", str(folder / "rooms.db"), cwd=folder
    ) as running:
        yield running
        assert running.terminate() == 0


@pytest.fixture
def connections() -> Iterator[list[BearerHttp]]:
    opened: list[BearerHttp] = []
    yield opened
    for http in opened:
        http.close()


@pytest.fixture
def rooms_for(server: ServerProcess, connections: list[BearerHttp]) -> Callable[[str], Any]:
    def build(player: str) -> Any:
        http = BearerHttp(f"dev-{player}")
        connections.append(http)
        service = build_from_document(
            discovery_document(),
            http=http,
            client_options={"api_endpoint": f"{server.base_url}/games/v1/"},
        )
        return service.rooms()

    return build


def test_two_players_complete_the_lifecycle(rooms_for: Callable[[str], Any]) -> None:
    """R-create-1 R-list-1 R-join-1 R-report-3 R-leave-1 R-decline-1 R-dismiss-1"""
    alice, bob = rooms_for("alice"), rooms_for("bob")
    room = alice.create(
        body={"invitedPlayerIds": ["bob"], "requestId": "31337", "variant": 2},
        language="en",
    ).execute()
    assert room["status"] == "ROOM_INVITING"
    room_id = room["roomId"]

    invitations = bob.list(maxResults=5).execute()
    assert [r["roomId"] for r in invitations["items"]] == [room_id]
    assert invitations["items"][0]["description"] == "Invitation from alice"

    joined = bob.join(roomId=room_id, body={"capabilities": ["reliable_messaging"]}).execute()
    assert joined["status"] == "ROOM_CONNECTING"
    bob_id = joined["participants"][1]["id"]

    status = alice.reportStatus(
        roomId=room_id,
        body={"updates": [{"participantId": bob_id, "status": "CONNECTION_ESTABLISHED"}]},
    ).execute()
    assert status["kind"] == "games#roomStatus"
    assert status["status"] == "ROOM_ACTIVE"
    assert status["statusVersion"] == 3

    left = bob.leave(roomId=room_id, body={"reason": "REALTIME_SIGN_OUT"}).execute()
    assert left["participants"][1]["leaveReason"] == "PLAYER_LEFT"
    assert alice.get(roomId=room_id).execute()["roomStatusVersion"] == 4

    declined_id = alice.create(body={"invitedPlayerIds": ["bob"]}).execute()["roomId"]
    declined = bob.decline(roomId=declined_id).execute()
    assert declined["participants"][1]["status"] == "PARTICIPANT_DECLINED"

    dismissed_id = alice.create(body={"invitedPlayerIds": ["bob"]}).execute()["roomId"]
    assert bob.dismiss(roomId=dismissed_id).execute() in ("", None, {})
    assert bob.list().execute().get("items", []) == []

    with pytest.raises(HttpError) as caught:
        rooms_for("eve").get(roomId=room_id).execute()
    assert caught.value.resp.status == 404
    assert json.loads(caught.value.content)["error"]["errors"][0]["reason"] == "notFound"


def test_list_next_walks_every_page(rooms_for: Callable[[str], Any]) -> None:
    """R-list-2"""
    carol, dave = rooms_for("carol"), rooms_for("dave")
    made = [carol.create(body={"invitedPlayerIds": ["dave"]}).execute()["roomId"] for _ in range(5)]
    seen: list[str] = []
    request = dave.list(maxResults=2)
    pages = 0
    while request is not None:
        page = request.execute()
        pages += 1
        seen += [room["roomId"] for room in page.get("items", [])]
        request = dave.list_next(request, page)
    assert seen == made
    assert pages == 3


def test_room_ids_with_slashes_are_not_found_rather_than_broken(
    rooms_for: Callable[[str], Any],
) -> None:
    """R-hide-1"""
    with pytest.raises(HttpError) as caught:
        rooms_for("alice").get(roomId="a/b").execute()
    assert caught.value.resp.status == 404


def test_discovery_document_is_the_committed_one() -> None:
    """The client is built from generated/discovery.json, the file the kit ships."""
    committed = Path(__file__).resolve().parents[2] / "generated" / "rooms_api" / "discovery.json"
    assert discovery_document() == json.loads(committed.read_text(encoding="utf-8"))

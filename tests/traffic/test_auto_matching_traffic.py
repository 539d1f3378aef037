"""The proxy in front of the reference server while players are auto-matched: a conformant
server must raise no violation. An auto-matching create may place its caller in a room someone
else created, so the room's creator is not the caller; the proxy took it for the caller's player
id and, from then on, judged that player's traffic as another player's (false alarms of
``participants_only``, ``invitation_listed`` …)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from rooms_kit.reference_server.app import create_reference_app
from tests.traffic.support import LoopbackServer, ProxyRun, proxy_in_front_of

AUTO = {"autoMatchingCriteria": {"minAutoMatchingPlayers": 1, "maxAutoMatchingPlayers": 2}}
Post = Callable[..., dict[str, object]]


@contextmanager
def _through_proxy() -> Iterator[tuple[ProxyRun, httpx.Client, Post]]:
    """The reference server (development tokens) behind the proxy, a client of the proxy, and
    ``post(player, path, body)``: a POST under ``/games/v1/rooms`` that must answer 200."""
    app = create_reference_app(":memory:", dev_tokens=True)
    try:
        with (
            LoopbackServer(app) as upstream,
            proxy_in_front_of(upstream.url) as proxy,
            httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
        ):

            def post(player: str, path: str, body: object = None) -> dict[str, object]:
                headers = {"Authorization": f"Bearer dev-{player}"}
                answer = client.post(f"/games/v1/rooms{path}", json=body, headers=headers)
                assert answer.status_code == 200, answer.text
                room: dict[str, object] = answer.json()
                return room

            yield proxy, client, post
    finally:
        app.close()


def test_a_player_placed_by_auto_matching_is_not_taken_for_the_rooms_creator() -> None:
    with _through_proxy() as (proxy, client, post):
        opened = post("dora", "/create", AUTO)
        placed = post("ezra", "/create", AUTO)  # put into dora's room: its creator is dora
        assert placed["roomId"] == opened["roomId"]
        own = post("ezra", "/create", {"invitedPlayerIds": ["finn"]})  # ezra's own room
        headers = {"Authorization": "Bearer dev-ezra"}
        assert client.get(f"/games/v1/rooms/{own['roomId']}", headers=headers).is_success
        listed = client.get("/games/v1/rooms", headers={"Authorization": "Bearer dev-finn"})
        assert [room["roomId"] for room in listed.json()["items"]] == [own["roomId"]]
        proxy.wait(5)
        assert proxy.lines() == []
        assert proxy.monitor.exchanges == 5


def test_a_repeated_change_that_changes_nothing_may_keep_the_version() -> None:
    """A retried join, decline or leave is a no-op answered with the room unchanged (R-join-1,
    R-decline-1, R-leave-1); the proxy called each one a version that 'did not grow'. A join
    that changes the room at the same version is still found: test_proxy_google_client.py's
    version_stuck_at_one."""
    with _through_proxy() as (proxy, _, post):
        room = post("gina", "/create", {"invitedPlayerIds": ["hal", "ivy"]})
        rid = room["roomId"]
        versions = [
            post("gina", f"/{rid}/join", {})["roomStatusVersion"],  # the creator: no-op
            post("hal", f"/{rid}/join", {})["roomStatusVersion"],
            post("hal", f"/{rid}/join", {})["roomStatusVersion"],  # retried
            post("ivy", f"/{rid}/decline")["roomStatusVersion"],
            post("ivy", f"/{rid}/decline")["roomStatusVersion"],  # retried
            post("hal", f"/{rid}/leave", {})["roomStatusVersion"],
            post("hal", f"/{rid}/leave", {})["roomStatusVersion"],  # retried
        ]
        assert versions == [1, 2, 2, 3, 3, 4, 4]
        proxy.wait(8)
        assert proxy.lines() == []

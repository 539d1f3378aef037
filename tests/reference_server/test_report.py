"""reportStatus: peer links, connected flags, the games#roomStatus answer."""

from __future__ import annotations

from typing import Any

import pytest

from rooms_kit.reference_server import Conflict, InvalidRequest
from tests.reference_server.conftest import CheckedService, participant

UP = "CONNECTION_ESTABLISHED"
DOWN = "CONNECTION_FAILED"


def three_joined(service: CheckedService) -> tuple[str, dict[str, str]]:
    room = service.create("alice", {"invitedPlayerIds": ["bob", "carol"]})
    room_id = room["roomId"]
    service.join("bob", room_id, {})
    room = service.join("carol", room_id, {})
    ids = {name: participant(room, name)["id"] for name in ("alice", "bob", "carol")}
    return room_id, ids


def report(service: CheckedService, player: str, room_id: str, **links: str) -> dict[str, Any]:
    updates = [{"participantId": pid, "status": status} for pid, status in links.items()]
    return service.report_status(player, room_id, {"updates": updates})


def connected(room: dict[str, Any]) -> list[bool]:
    return [p["connected"] for p in room["participants"]]


def test_reports_must_name_other_participants(service: CheckedService) -> None:
    """R-report-1"""
    room_id, ids = three_joined(service)
    with pytest.raises(InvalidRequest, match="caller"):
        report(service, "alice", room_id, **{ids["alice"]: UP})
    with pytest.raises(InvalidRequest, match="No participant"):
        report(service, "alice", room_id, p_nobody=UP)
    for update in (
        {"status": UP},
        {"participantId": ids["bob"]},
        {"participantId": ids["bob"], "status": "MAYBE"},
    ):
        with pytest.raises(InvalidRequest):
            service.report_status("alice", room_id, {"updates": [update]})


def test_only_joined_participants_report(service: CheckedService) -> None:
    """R-report-1"""
    room = service.create("alice", {"invitedPlayerIds": ["bob"]})
    with pytest.raises(Conflict):
        service.report_status("bob", room["roomId"], {"updates": []})


def test_connected_means_linked_with_every_other_joined_participant(
    service: CheckedService,
) -> None:
    """R-report-2"""
    room_id, ids = three_joined(service)
    status = report(service, "alice", room_id, **{ids["bob"]: UP, ids["carol"]: UP})
    assert connected(status) == [True, False, False]
    status = report(service, "carol", room_id, **{ids["bob"]: UP})
    assert connected(status) == [True, True, True]
    # the latest report about a link wins, whichever side sends it
    status = report(service, "bob", room_id, **{ids["carol"]: DOWN})
    assert connected(status) == [True, False, False]
    # a participant who leaves stops counting
    room = service.leave("carol", room_id, {})
    assert connected(room) == [True, True, False]


def test_a_lone_participant_is_not_connected(service: CheckedService) -> None:
    """R-report-2"""
    room_id, ids = three_joined(service)
    report(service, "alice", room_id, **{ids["bob"]: UP, ids["carol"]: UP})
    report(service, "bob", room_id, **{ids["carol"]: UP})
    service.leave("bob", room_id, {})
    room = service.leave("carol", room_id, {})
    assert connected(room) == [False, False, False]


def test_the_answer_is_a_room_status(service: CheckedService) -> None:
    """R-report-3"""
    room_id, ids = three_joined(service)
    status = report(service, "alice", room_id, **{ids["bob"]: UP})
    room = service.get("alice", room_id)
    assert status["kind"] == "games#roomStatus"
    assert status["roomId"] == room_id
    assert status["status"] == room["status"]
    assert status["statusVersion"] == room["roomStatusVersion"]
    assert status["participants"] == room["participants"]
    host = service.create("dave", {"autoMatchingCriteria": {}, "invitedPlayerIds": ["erin"]})
    waiting = service.report_status("dave", host["roomId"], {})
    assert waiting["autoMatchingStatus"]["waitEstimateSeconds"] == 30

"""list: the caller's open invitations, in pages with opaque tokens."""

from __future__ import annotations

import base64

import pytest

from rooms_kit.reference_server import InvalidRequest
from tests.reference_server.conftest import CheckedService, ManualClock


def test_only_open_invitations_are_listed(service: CheckedService) -> None:
    """R-list-1"""
    open_one = service.create("alice", {"invitedPlayerIds": ["bob"]})["roomId"]
    declined = service.create("alice", {"invitedPlayerIds": ["bob"]})["roomId"]
    joined = service.create("alice", {"invitedPlayerIds": ["bob"]})["roomId"]
    deleted = service.create("carol", {"invitedPlayerIds": ["bob"]})["roomId"]
    service.create("bob", {"invitedPlayerIds": ["alice"]})
    service.decline("bob", declined)
    service.join("bob", joined, {})
    service.leave("carol", deleted, {})
    items = service.list("bob")["items"]
    assert [room["roomId"] for room in items] == [open_one]
    assert items[0]["description"] == "Invitation from alice"
    assert [room["roomId"] for room in service.list("zed")["items"]] == []


def test_items_are_ordered_oldest_first(service: CheckedService, clock: ManualClock) -> None:
    """R-list-1"""
    ids = []
    for step in range(4):
        clock.now += 1000 if step % 2 else -500  # order follows the server's clock
        ids.append(service.create("alice", {"invitedPlayerIds": ["bob"]})["roomId"])
    assert [room["roomId"] for room in service.list("bob")["items"]] == ids


def test_pages_follow_tokens_without_repeats_or_gaps(service: CheckedService) -> None:
    """R-list-2"""
    ids = [service.create("alice", {"invitedPlayerIds": ["bob"]})["roomId"] for _ in range(7)]
    seen: list[str] = []
    page = service.list("bob", max_results=3)
    assert len(page["items"]) == 3
    seen += [room["roomId"] for room in page["items"]]
    ids.append(service.create("carol", {"invitedPlayerIds": ["bob"]})["roomId"])
    while "nextPageToken" in page:
        page = service.list("bob", max_results=3, page_token=page["nextPageToken"])
        seen += [room["roomId"] for room in page["items"]]
    assert seen == ids
    exact = service.list("bob", max_results=8)
    assert len(exact["items"]) == 8
    assert "nextPageToken" not in exact


def test_max_results_defaults_to_100(service: CheckedService) -> None:
    """R-list-2"""
    for _ in range(101):
        service.create("alice", {"invitedPlayerIds": ["bob"]})
    page = service.list("bob")
    assert len(page["items"]) == 100
    assert "nextPageToken" in page
    assert len(service.list("bob", max_results=500)["items"]) == 101


@pytest.mark.parametrize("value", [0, 501, -1, True, "ten"])
def test_max_results_outside_1_to_500_is_refused(service: CheckedService, value: object) -> None:
    """R-list-2"""
    with pytest.raises(InvalidRequest, match="maxResults"):
        service.list("bob", max_results=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "token",
    [
        "not a token",
        "%%%",
        base64.urlsafe_b64encode(b"rk1:12").decode(),
        base64.urlsafe_b64encode(b"other:1:x").decode(),
        base64.urlsafe_b64encode(b"rk1:\xb2:x").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "é",
        # 19 digits, past the largest 64-bit integer either store holds (was a 500)
        base64.urlsafe_b64encode(b"rk1:9223372036854775808:x").decode(),
        base64.urlsafe_b64encode(b"rk1:9999999999999999999:x").decode(),
    ],
)
def test_foreign_page_tokens_are_refused(service: CheckedService, token: str) -> None:
    """R-list-2"""
    with pytest.raises(InvalidRequest, match="pageToken"):
        service.list("bob", page_token=token)


def test_the_largest_position_a_token_can_hold_lists_nothing(service: CheckedService) -> None:
    """R-list-2"""
    service.create("alice", {"invitedPlayerIds": ["bob"]})
    token = base64.urlsafe_b64encode(b"rk1:9223372036854775807:x").decode()
    assert service.list("bob", page_token=token)["items"] == []


@pytest.mark.parametrize("room_id", ["a\0b", "a\\b", "\0"])
def test_a_token_naming_a_room_id_with_nul_or_backslash_lists_on_from_it(
    service: CheckedService, room_id: str
) -> None:
    """R-list-2: no room id the server makes holds either, but a token can; PostgreSQL, whose
    text cannot hold NUL, answered 500 for a NUL."""
    listed = service.create("alice", {"invitedPlayerIds": ["bob"]})["roomId"]
    token = base64.urlsafe_b64encode(f"rk1:0:{room_id}".encode()).decode()
    assert [room["roomId"] for room in service.list("bob", page_token=token)["items"]] == [listed]
    assert [room["roomId"] for room in service.list("bob")["items"]] == [listed]

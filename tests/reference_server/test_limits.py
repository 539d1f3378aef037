"""Server policy: what one room may hold, refused with 400 and the offending JSON pointer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rooms_kit.reference_server import InvalidRequest, RoomService, SqliteStore
from rooms_kit.reference_server.app import ReferenceApp, create_reference_app
from rooms_kit.reference_server.policy import (
    MAX_ADDRESS_LENGTH,
    MAX_CAPABILITIES,
    MAX_CAPABILITY_LENGTH,
    MAX_ID_LENGTH,
)
from tests.reference_server.conftest import CheckedService
from tests.reference_server.support import InProcess, portal

SEVEN = [f"p{i}" for i in range(7)]

# (operation, body, pointer of the offending value)
OVER_THE_LIMITS: list[tuple[str, dict[str, Any], str]] = [
    ("create", {"invitedPlayerIds": ["b"], "capabilities": ["c"] * 17}, "/capabilities"),
    ("create", {"invitedPlayerIds": ["b"], "capabilities": ["ok", "x" * 129]}, "/capabilities/1"),
    ("create", {"invitedPlayerIds": ["b"], "clientAddress": {"xmppAddress": "a" * 257}},
     "/clientAddress/xmppAddress"),
    ("create", {"invitedPlayerIds": ["b", "p" * 65]}, "/invitedPlayerIds/1"),
    ("create", {"invitedPlayerIds": [*SEVEN, "p7"]}, "/invitedPlayerIds"),
    ("create", {"invitedPlayerIds": ["b"], "autoMatchingCriteria": {"maxAutoMatchingPlayers": 7}},
     "/autoMatchingCriteria/maxAutoMatchingPlayers"),
    ("join", {"capabilities": ["c" * 10_000]}, "/capabilities/0"),
    ("join", {"capabilities": ["c"] * 1000}, "/capabilities"),
    ("join", {"clientAddress": {"xmppAddress": "x" * 100_000}}, "/clientAddress/xmppAddress"),
    ("report_status",
     {"updates": [{"participantId": "p", "status": "CONNECTION_FAILED"}] * 8}, "/updates"),
    ("report_status",
     {"updates": [{"participantId": "p" * 65, "status": "CONNECTION_FAILED"}]},
     "/updates/0/participantId"),
]  # fmt: skip
IDS = [f"{op}:{pointer}" for op, _, pointer in OVER_THE_LIMITS]


@pytest.fixture
def direct() -> Iterator[RoomService]:
    store = SqliteStore(":memory:")
    yield RoomService(store)
    store.close()


def call(service: RoomService | CheckedService, operation: str, body: dict[str, Any]) -> None:
    if operation == "create":
        service.create("alice", body)
        return
    room = service.create("alice", {"invitedPlayerIds": ["bob"]})
    if operation == "join":
        service.join("bob", room["roomId"], body)
    else:
        service.join("bob", room["roomId"], {})
        service.report_status("alice", room["roomId"], body)


@pytest.mark.parametrize(("operation", "body", "pointer"), OVER_THE_LIMITS, ids=IDS)
def test_values_over_the_limits_are_refused_with_their_pointer(
    direct: RoomService, operation: str, body: dict[str, Any], pointer: str
) -> None:
    """R-limits-1"""
    with pytest.raises(InvalidRequest) as refused:
        call(direct, operation, body)
    assert refused.value.pointer == pointer
    assert refused.value.status == 400


def test_values_at_the_limits_are_kept(service: CheckedService) -> None:
    """R-limits-1 R-create-6"""
    capabilities = [chr(97 + i) * MAX_CAPABILITY_LENGTH for i in range(MAX_CAPABILITIES)]
    invited = ["i" * MAX_ID_LENGTH, *SEVEN[1:]]
    address = "a" * MAX_ADDRESS_LENGTH
    room = service.create(
        "alice",
        {"invitedPlayerIds": invited, "capabilities": capabilities,
         "clientAddress": {"xmppAddress": address}},
    )  # fmt: skip
    me = room["participants"][0]
    assert me["capabilities"] == capabilities
    assert me["clientAddress"]["xmppAddress"] == address
    assert len(room["participants"]) == 8


@pytest.fixture
def app() -> Iterator[ReferenceApp]:
    reference = create_reference_app(":memory:", dev_tokens=True)
    yield reference
    reference.close()


@pytest.mark.parametrize(("operation", "body", "pointer"), OVER_THE_LIMITS[:4], ids=IDS[:4])
def test_over_http_the_pointer_is_the_error_location(
    app: ReferenceApp, operation: str, body: dict[str, Any], pointer: str
) -> None:
    """R-limits-1"""
    with portal() as running:
        server = InProcess(app, running)
        with server.http() as http:
            answer = http.post(
                "/games/v1/rooms/create", json=body, headers={"Authorization": "Bearer dev-alice"}
            )
        server.close()
    assert answer.status_code == 400
    item = answer.json()["error"]["errors"][0]
    assert item["reason"] == "invalid"
    assert item["location"] == pointer
    assert item["locationType"] == "body"
    assert item["message"].startswith(f"Invalid value at '{pointer}': ")

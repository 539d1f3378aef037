"""The generated clients: every operation against the stub, paging, retries and typed errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from rooms_api.client import AsyncRoomsClient, RetryPolicy, RoomsClient
from rooms_api.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    RoomsConnectionError,
    RoomsHttpError,
    ServerError,
    UnexpectedResponseError,
)
from rooms_api.models import (
    LeaveRequestReason,
    PeerStatus,
    Room,
    RoomCreateRequest,
    RoomJoinRequest,
    RoomLeaveRequest,
    RoomP2PStatus,
    RoomP2PStatuses,
)
from rooms_api.server import create_app

from tests.generated.stub_support import GOOD_TOKEN, FakeHandler, SyncASGIBridge, authenticate

BASE = "http://127.0.0.1:8080/"


def no_sleep(seconds: float) -> None:
    del seconds


@pytest.fixture
def handler() -> FakeHandler:
    fake = FakeHandler()
    for name in ("r1", "r2", "r3", "r4", "r5/x"):
        fake.rooms[name] = Room(room_id=name, status="ROOM_ACTIVE")
    return fake


@pytest.fixture
def client(handler: FakeHandler) -> RoomsClient:
    app = create_app(handler, authenticate, validate_responses=True)
    return RoomsClient(GOOD_TOKEN, base_url=BASE, transport=SyncASGIBridge(app), sleep=no_sleep)


def test_every_operation_round_trips_through_the_stub(
    client: RoomsClient, handler: FakeHandler
) -> None:
    created = client.create(RoomCreateRequest(variant=2, request_id="42"), language="en")
    assert isinstance(created, Room)
    assert created.variant == 2
    room_id = created.room_id
    assert room_id is not None
    assert client.get(room_id, consistency_token="-5").room_id == room_id
    assert client.join(room_id, RoomJoinRequest(capabilities=["x"])).room_id == room_id
    leave = RoomLeaveRequest(reason=LeaveRequestReason.PLAYER_LEFT)
    assert client.leave(room_id, leave).room_id == room_id
    assert client.decline("r5/x").room_id == "r5/x"
    assert client.dismiss("r5/x") is None
    statuses = RoomP2PStatuses(
        updates=[RoomP2PStatus(participant_id="p", status=PeerStatus.CONNECTION_ESTABLISHED)]
    )
    assert client.report_status(room_id, statuses).status_version == 1
    page = client.list(max_results=3)
    assert [r.room_id for r in page.items or []] == ["r1", "r2", "r3"]
    names = [call[0] for call in handler.calls]
    assert names == [
        "create", "get", "join", "leave", "decline", "dismiss", "report_status", "list",
    ]  # fmt: skip
    assert handler.calls[0][1][1].request_id == "42"
    assert handler.calls[1][2] == {"ct": "-5"}
    assert handler.calls[5][1][1] == "r5/x"
    assert all(call[1][0].player_id == "alice" for call in handler.calls)


def test_requests_carry_bearer_token_alt_json_and_encoded_room_ids(handler: FakeHandler) -> None:
    bridge = SyncASGIBridge(create_app(handler, authenticate))
    with RoomsClient(lambda: GOOD_TOKEN, base_url=BASE, transport=bridge) as client:
        client.get("r5/x")
        client.dismiss("r5/x")
    get, dismiss = bridge.requests
    assert get.headers["authorization"] == f"Bearer {GOOD_TOKEN}"
    assert get.url.raw_path == b"/games/v1/rooms/r5%2Fx?alt=json"
    assert dismiss.url.raw_path == b"/games/v1/rooms/r5%2Fx/dismiss"
    assert dismiss.content == b""


def test_paging_follows_next_page_token(client: RoomsClient, handler: FakeHandler) -> None:
    pages = list(client.list_pages())
    assert [len(p.items or []) for p in pages] == [2, 2, 1]
    assert [c[2]["page_token"] for c in handler.calls] == [None, "2", "4"]
    assert [r.room_id for r in client.list_all(max_results=4)] == ["r1", "r2", "r3", "r4", "r5/x"]


def test_async_client_against_the_stub(handler: FakeHandler) -> None:
    app = create_app(handler, authenticate)

    async def scenario() -> list[str | None]:
        transport = httpx.ASGITransport(app=app)
        async with AsyncRoomsClient(GOOD_TOKEN, base_url=BASE, transport=transport) as client:
            created = await client.create(RoomCreateRequest())
            assert created.room_id is not None
            await client.dismiss(created.room_id)
            with pytest.raises(NotFoundError):
                await client.get("missing")
            return [room.room_id async for room in client.list_all()]

    assert asyncio.run(scenario()) == ["r1", "r2", "r3", "r4", "r5/x", "room-6"]


def test_bad_body_is_reported_with_its_pointer(client: RoomsClient) -> None:
    # Models keep unknown properties (the schemas are open); the strict stub rejects the typo.
    body = RoomCreateRequest.model_validate({"variant": 1, "autoMatchingCriteria": {"x": 1}})
    with pytest.raises(BadRequestError) as caught:
        client.create(body)
    assert caught.value.envelope is not None
    assert caught.value.envelope.error.errors[0].location == "/autoMatchingCriteria/x"
    assert caught.value.reason == "invalid"


def test_missing_token_raises_authentication_error(handler: FakeHandler) -> None:
    bridge = SyncASGIBridge(create_app(handler, authenticate))
    with pytest.raises(AuthenticationError) as caught:
        RoomsClient(base_url=BASE, transport=bridge).get("r1")
    assert (caught.value.status, caught.value.reason) == (401, "authError")


# --- retries and error mapping, against a scripted transport -------------------------------------


def envelope(status: int, reason: str, message: str = "nope") -> dict[str, Any]:
    item = {"domain": "global", "reason": reason, "message": message}
    return {"error": {"code": status, "message": message, "errors": [item]}}


ROOM = {"kind": "games#room", "roomId": "r1"}


class Script:
    """Answers requests from a list of (status, body, headers); counts attempts."""

    def __init__(self, *answers: tuple[int, Any, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.attempts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        status, body, headers = self.answers.pop(0)
        if isinstance(body, Exception):
            raise body
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers=headers)


def scripted(
    script: Script, sleeps: list[float], rand: Callable[[], float] = lambda: 0.0, **kw: Any
) -> RoomsClient:
    return RoomsClient(
        "t",
        base_url=BASE,
        transport=httpx.MockTransport(script),
        sleep=sleeps.append,
        rand=rand,
        **kw,
    )


@pytest.mark.parametrize("status", [429, 503])
def test_retries_then_succeeds(status: int) -> None:
    script = Script(
        (status, envelope(status, "rateLimitExceeded"), {}),
        (status, envelope(status, "rateLimitExceeded"), {}),
        (200, ROOM, {}),
    )
    sleeps: list[float] = []
    assert scripted(script, sleeps).get("r1").room_id == "r1"
    assert script.attempts == 3
    assert sleeps == [0.5, 1.0]


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0.5)
    assert [policy.delay(n, None, lambda: 0.0) for n in range(5)] == [1, 2, 4, 5, 5]
    assert [policy.delay(n, None, lambda: 1.0) for n in range(3)] == [0.5, 1.0, 2.0]


def test_retry_after_is_honoured_up_to_the_limit() -> None:
    script = Script(
        (429, envelope(429, "rateLimitExceeded"), {"Retry-After": "7"}),
        (503, b"busy", {"Retry-After": "3600"}),
        (200, ROOM, {}),
    )
    sleeps: list[float] = []
    scripted(script, sleeps, retry=RetryPolicy(max_delay=20.0)).get("r1")
    assert sleeps == [7.0, 20.0]


def test_retries_give_up_with_a_typed_error() -> None:
    script = Script(*[(503, envelope(503, "backendError"), {})] * 3)
    sleeps: list[float] = []
    client = scripted(script, sleeps, retry=RetryPolicy(max_retries=2))
    with pytest.raises(ServerError) as caught:
        client.get("r1")
    assert script.attempts == 3
    assert len(sleeps) == 2
    assert (caught.value.status, caught.value.reason) == (503, "backendError")

    limited = Script(*[(429, envelope(429, "rateLimitExceeded"), {})] * 5)
    with pytest.raises(RateLimitError):
        scripted(limited, [], retry=RetryPolicy(max_retries=4)).get("r1")
    assert limited.attempts == 5


def test_connection_failures_are_retried_then_wrapped() -> None:
    timeout = httpx.ReadTimeout("slow")
    script = Script((0, timeout, {}), (200, ROOM, {}))
    assert scripted(script, []).get("r1").room_id == "r1"
    failing = Script(*[(0, httpx.ConnectError("refused"), {})] * 2)
    with pytest.raises(RoomsConnectionError) as caught:
        scripted(failing, [], retry=RetryPolicy(max_retries=1)).get("r1")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize(
    ("status", "reason", "error_type"),
    [
        (400, "invalid", BadRequestError),
        (401, "authError", AuthenticationError),
        (404, "notFound", NotFoundError),
        (409, "conflict", ConflictError),
        (418, "teapot", RoomsHttpError),
    ],
)
def test_error_statuses_map_to_exceptions(
    status: int, reason: str, error_type: type[RoomsHttpError]
) -> None:
    script = Script((status, envelope(status, reason, "Room not found: r1"), {}))
    with pytest.raises(error_type) as caught:
        scripted(script, []).get("r1")
    assert type(caught.value) is error_type
    assert caught.value.status == status
    assert caught.value.reason == reason
    assert caught.value.message == "Room not found: r1"
    assert script.attempts == 1


def test_error_without_envelope_keeps_the_raw_text() -> None:
    script = Script((502, b"<html>bad gateway</html>", {}))
    with pytest.raises(ServerError) as caught:
        scripted(script, [], retry=RetryPolicy(max_retries=0)).get("r1")
    assert caught.value.envelope is None
    assert caught.value.reason is None
    assert "bad gateway" in caught.value.message


def test_async_client_retries_with_its_own_sleep() -> None:
    script = Script((429, envelope(429, "rateLimitExceeded"), {}), (200, ROOM, {}))
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    async def scenario() -> Room:
        async with AsyncRoomsClient(
            "t",
            base_url=BASE,
            transport=httpx.MockTransport(script),
            sleep=record,
            rand=lambda: 0.0,
        ) as client:
            return await client.get("r1")

    assert asyncio.run(scenario()).room_id == "r1"
    assert (script.attempts, slept) == (2, [0.5])


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"not json", "/"),
        (json.dumps({"roomId": 5}).encode(), "/roomId"),
        (json.dumps({"kind": "games#roomList"}).encode(), "/kind"),
    ],
)
def test_a_success_body_that_does_not_fit_raises_a_typed_error(body: bytes, where: str) -> None:
    script = Script((200, body, {}))
    with pytest.raises(UnexpectedResponseError) as caught:
        scripted(script, []).get("r1")
    assert caught.value.status == 200
    assert f"{where}:" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValidationError)

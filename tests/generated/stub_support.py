"""A tiny in-memory handler and a synchronous bridge into the generated ASGI stub."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from rooms_api.models import (
    Room,
    RoomCreateRequest,
    RoomJoinRequest,
    RoomLeaveRequest,
    RoomList,
    RoomP2PStatuses,
    RoomStatus,
)
from rooms_api.server import ApiError, Principal, RoomsHandler

GOOD_TOKEN = "token-alice"
PAGE = 2


async def authenticate(token: str) -> Principal | None:
    """``token-<player>`` is valid for that player; anything else is not."""
    if token.startswith("token-"):
        return Principal(token.removeprefix("token-"))
    return None


class FakeHandler:
    """Records every call; rooms are kept in a dict; ``missing`` is never found."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.rooms: dict[str, Room] = {}

    def _room(self, room_id: str) -> Room:
        if room_id not in self.rooms:
            raise ApiError(404, "notFound", f"Room not found: {room_id}")
        return self.rooms[room_id]

    async def create(
        self,
        principal: Principal,
        body: RoomCreateRequest,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Room:
        self.calls.append(("create", (principal, body), {"language": language}))
        room = Room(
            room_id=f"room-{len(self.rooms) + 1}",
            variant=body.variant,
            description=f"created by {principal.player_id}",
        )
        self.rooms[room.room_id or ""] = room
        return room

    async def decline(
        self,
        principal: Principal,
        room_id: str,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Room:
        self.calls.append(("decline", (principal, room_id), {"language": language}))
        return self._room(room_id)

    async def dismiss(
        self, principal: Principal, room_id: str, *, consistency_token: str | None = None
    ) -> None:
        self.calls.append(("dismiss", (principal, room_id), {"ct": consistency_token}))
        self._room(room_id)

    async def get(
        self,
        principal: Principal,
        room_id: str,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Room:
        self.calls.append(("get", (principal, room_id), {"ct": consistency_token}))
        if room_id == "crash":
            raise RuntimeError("handler bug")
        if room_id == "unfinished":
            raise NotImplementedError
        return self._room(room_id)

    async def join(
        self,
        principal: Principal,
        room_id: str,
        body: RoomJoinRequest,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Room:
        self.calls.append(("join", (principal, room_id, body), {}))
        return self._room(room_id)

    async def leave(
        self,
        principal: Principal,
        room_id: str,
        body: RoomLeaveRequest,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> Room:
        self.calls.append(("leave", (principal, room_id, body), {}))
        return self._room(room_id)

    async def list(
        self,
        principal: Principal,
        *,
        page_token: str | None = None,
        language: str | None = None,
        max_results: int | None = None,
        consistency_token: str | None = None,
    ) -> RoomList:
        self.calls.append(("list", (principal,), {"page_token": page_token, "max": max_results}))
        ids = sorted(self.rooms)
        start = int(page_token or "0")
        size = max_results or PAGE
        page = [self.rooms[i] for i in ids[start : start + size]]
        more = start + size < len(ids)
        return RoomList(items=page, next_page_token=str(start + size) if more else None)

    async def report_status(
        self,
        principal: Principal,
        room_id: str,
        body: RoomP2PStatuses,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> RoomStatus:
        self.calls.append(("report_status", (principal, room_id, body), {}))
        room = self._room(room_id)
        return RoomStatus(room_id=room.room_id, status=room.status, status_version=1)


def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request into the ASGI app, synchronously, on a fresh event loop."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(send())


class SyncASGIBridge(httpx.BaseTransport):
    """Lets a blocking httpx client (and so ``RoomsClient``) talk to an ASGI app in-process."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        content = request.read()

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            response = await transport.handle_async_request(forwarded)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return asyncio.run(send())


def _conforms() -> RoomsHandler:
    """Type-checked by ``test_typing``: the fake must satisfy the generated protocol."""
    return FakeHandler()

"""The room service behind the generated server stub: a ``WireRoomsHandler`` and an authenticator.

This is the only module of the reference server that knows ``rooms_api``. The handler is a
``WireRoomsHandler``: ``RoomService`` works on wire dicts, so the stub hands over the body dict it
has checked against the schemas and sends the service's answer as it is, with no pydantic model
built either way. Each method runs the (blocking) service call in a worker thread, or reads a
SQLite file on the event loop; ``ServiceError`` becomes the stub's ``ApiError`` so it travels in
Google's envelope.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from rooms_api.server import ApiError, Principal
from starlette.concurrency import run_in_threadpool

from rooms_kit.reference_server.auth import TokenResolver
from rooms_kit.reference_server.errors import ServiceError
from rooms_kit.reference_server.group_commit import GroupCommitter
from rooms_kit.reference_server.hand_over import HandOver
from rooms_kit.reference_server.service import RoomService

T = TypeVar("T")


def _api_error(exc: ServiceError) -> ApiError:
    if exc.pointer is None:
        return ApiError(exc.status, exc.reason, exc.message)
    return ApiError(exc.status, exc.reason, exc.message, location=exc.pointer, location_type="body")


async def _call(
    hand_over: HandOver | None, function: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """Run a (blocking) service call in a thread (of ``hand_over`` when given, else anyio's
    pool); refusals become ``ApiError``."""
    try:
        if hand_over is not None:
            return await hand_over.call(function, *args, **kwargs)
        return await run_in_threadpool(functools.partial(function, *args, **kwargs))
    except ServiceError as exc:
        raise _api_error(exc) from None


def _call_inline(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a service call on the event loop's thread: for reads of a WAL database, which never
    wait for writers, a thread hop costs more than the read."""
    try:
        return function(*args, **kwargs)
    except ServiceError as exc:
        raise _api_error(exc) from None


class ReferenceAuthenticator:
    """The stub's ``Authenticator`` on top of a ``TokenResolver``."""

    def __init__(self, resolver: TokenResolver, *, hand_over: HandOver | None = None) -> None:
        self.resolver = resolver
        self.hand_over = hand_over

    async def __call__(self, token: str) -> Principal | None:
        if self.resolver.development_mode:
            player_id = self.resolver.resolve(token)  # no database involved
        elif self.hand_over is not None:
            player_id = await self.hand_over.call(self.resolver.resolve, token)
        else:
            player_id = await run_in_threadpool(self.resolver.resolve, token)
        return Principal(player_id) if player_id is not None else None


class ReferenceRoomsHandler:
    """``rooms_api.server.WireRoomsHandler`` implemented by ``RoomService``.

    With ``writer`` (a SQLite file) writes go to its thread and share commits; otherwise each
    call takes a thread of ``hand_over`` (or of anyio's pool without one).
    """

    wire_dicts = True

    def __init__(
        self,
        service: RoomService,
        *,
        inline_reads: bool = False,
        writer: GroupCommitter | None = None,
        hand_over: HandOver | None = None,
    ) -> None:
        self.service = service
        self.inline_reads = inline_reads
        self.writer = writer
        self.hand_over = hand_over

    async def _write(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.writer is None:
            return await _call(self.hand_over, function, *args, **kwargs)
        try:
            return await self.writer.call(function, *args, **kwargs)
        except ServiceError as exc:
            raise _api_error(exc) from None

    async def _read(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.inline_reads:
            return _call_inline(function, *args, **kwargs)
        return await _call(self.hand_over, function, *args, **kwargs)

    async def create(
        self,
        principal: Principal,
        body: dict[str, Any],
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any]:
        return await self._write(
            self.service.create,
            principal.player_id,
            body,
            language=language,
            consistency_token=consistency_token,
        )

    async def decline(
        self,
        principal: Principal,
        room_id: str,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any]:
        return await self._write(
            self.service.decline,
            principal.player_id,
            room_id,
            language=language,
            consistency_token=consistency_token,
        )

    async def dismiss(
        self, principal: Principal, room_id: str, *, consistency_token: str | None = None
    ) -> None:
        await self._write(
            self.service.dismiss,
            principal.player_id,
            room_id,
            consistency_token=consistency_token,
        )

    async def get(
        self,
        principal: Principal,
        room_id: str,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any]:
        return await self._read(
            self.service.get,
            principal.player_id,
            room_id,
            language=language,
            consistency_token=consistency_token,
        )

    async def join(
        self,
        principal: Principal,
        room_id: str,
        body: dict[str, Any],
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any]:
        return await self._write(
            self.service.join,
            principal.player_id,
            room_id,
            body,
            language=language,
            consistency_token=consistency_token,
        )

    async def leave(
        self,
        principal: Principal,
        room_id: str,
        body: dict[str, Any],
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any]:
        return await self._write(
            self.service.leave,
            principal.player_id,
            room_id,
            body,
            language=language,
            consistency_token=consistency_token,
        )

    async def list(
        self,
        principal: Principal,
        *,
        page_token: str | None = None,
        language: str | None = None,
        max_results: int | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any]:
        return await self._read(
            self.service.list,
            principal.player_id,
            page_token=page_token,
            language=language,
            max_results=max_results,
            consistency_token=consistency_token,
        )

    async def report_status(
        self,
        principal: Principal,
        room_id: str,
        body: dict[str, Any],
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any]:
        return await self._write(
            self.service.report_status,
            principal.player_id,
            room_id,
            body,
            language=language,
            consistency_token=consistency_token,
        )

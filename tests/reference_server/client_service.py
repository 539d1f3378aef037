"""``RoomService``'s interface carried out over HTTP with the generated client, so that every
service-level test also runs through the stub, the adapter and ``rooms_api.client``.

Bodies the generated models accept go through ``RoomsClient``; bodies they refuse (the tests send
broken ones on purpose) are posted as raw JSON to the same app. Answers come back as wire dicts;
error answers become the service's own exceptions (400 ``InvalidRequest``, 404 ``RoomNotFound``,
409 ``Conflict``) carrying the server's message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from rooms_api.client import RoomsClient
from rooms_api.errors import RoomsHttpError
from rooms_api.models import RoomCreateRequest, RoomJoinRequest, RoomLeaveRequest, RoomP2PStatuses

from rooms_kit.reference_server import Conflict, InvalidRequest, RoomNotFound, ServiceError
from tests.reference_server.support import InProcess

M = TypeVar("M", bound=BaseModel)
ERRORS: dict[int, type[ServiceError]] = {400: InvalidRequest, 404: RoomNotFound, 409: Conflict}


def _service_error(status: int, message: str) -> ServiceError:
    kind = ERRORS.get(status)
    if kind is None:
        raise AssertionError(f"unexpected HTTP {status}: {message}")
    error = kind.__new__(kind)
    ServiceError.__init__(error, message)
    return error


def _wire(model: BaseModel | None) -> dict[str, Any] | None:
    return (
        None if model is None else model.model_dump(mode="json", by_alias=True, exclude_none=True)
    )


class ClientService:
    """Looks like ``RoomService``; talks HTTP to an in-process reference app."""

    def __init__(self, server: InProcess) -> None:
        self._server = server
        self._clients: dict[str, RoomsClient] = {}

    def _client(self, player: str) -> RoomsClient:
        if player not in self._clients:
            self._clients[player] = self._server.client(player)
        return self._clients[player]

    def _run(self, call: Callable[[], BaseModel | None]) -> dict[str, Any] | None:
        try:
            return _wire(call())
        except RoomsHttpError as exc:
            raise _service_error(exc.status, exc.message) from None

    def _raw(
        self, player: str, path: str, body: Any, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        query = {k: v for k, v in params.items() if v is not None}
        with self._server.http() as http:
            response = http.post(
                f"/games/v1/{path}",
                json=body,
                params=query,
                headers={"Authorization": f"Bearer dev-{player}"},
            )
        if response.status_code >= 400:
            raise _service_error(response.status_code, response.json()["error"]["message"])
        return response.json() if response.content else None

    @staticmethod
    def _model(kind: type[M], body: Any) -> M | None:
        # Strict JSON validation: the lax default would turn ``true`` into ``1`` and the client
        # would then send something other than what the test means to send.
        try:
            return kind.model_validate_json(json.dumps({} if body is None else body), strict=True)
        except (ValidationError, TypeError, ValueError):
            return None

    # -- the eight operations ---------------------------------------------------------------

    def create(
        self,
        player: str,
        body: Any,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any] | None:
        model = self._model(RoomCreateRequest, body)
        if model is None:
            params = {"language": language, "consistencyToken": consistency_token}
            return self._raw(player, "rooms/create", body, params)
        client = self._client(player)
        return self._run(
            lambda: client.create(model, language=language, consistency_token=consistency_token)
        )

    def get(
        self,
        player: str,
        room_id: str,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any] | None:
        client = self._client(player)
        return self._run(
            lambda: client.get(room_id, language=language, consistency_token=consistency_token)
        )

    def join(
        self,
        player: str,
        room_id: str,
        body: Any,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any] | None:
        model = self._model(RoomJoinRequest, body)
        if model is None:
            params = {"language": language, "consistencyToken": consistency_token}
            return self._raw(player, f"rooms/{room_id}/join", body, params)
        client = self._client(player)
        return self._run(
            lambda: client.join(
                room_id, model, language=language, consistency_token=consistency_token
            )
        )

    def decline(
        self,
        player: str,
        room_id: str,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any] | None:
        client = self._client(player)
        return self._run(
            lambda: client.decline(room_id, language=language, consistency_token=consistency_token)
        )

    def dismiss(
        self, player: str, room_id: str, *, consistency_token: str | None = None
    ) -> dict[str, Any] | None:
        client = self._client(player)
        return self._run(lambda: client.dismiss(room_id, consistency_token=consistency_token))

    def leave(
        self,
        player: str,
        room_id: str,
        body: Any,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any] | None:
        model = self._model(RoomLeaveRequest, body)
        if model is None:
            params = {"language": language, "consistencyToken": consistency_token}
            return self._raw(player, f"rooms/{room_id}/leave", body, params)
        client = self._client(player)
        return self._run(
            lambda: client.leave(
                room_id, model, language=language, consistency_token=consistency_token
            )
        )

    def list(
        self,
        player: str,
        *,
        page_token: str | None = None,
        language: str | None = None,
        max_results: Any = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any] | None:
        if isinstance(max_results, bool) or not isinstance(max_results, int | None):
            # the generated client only sends integers; send what the test asks for as it is
            with self._server.http() as http:
                response = http.get(
                    "/games/v1/rooms",
                    params={"maxResults": str(max_results)},
                    headers={"Authorization": f"Bearer dev-{player}"},
                )
            raise _service_error(response.status_code, response.json()["error"]["message"])
        client = self._client(player)
        return self._run(
            lambda: client.list(
                page_token=page_token,
                language=language,
                max_results=max_results,
                consistency_token=consistency_token,
            )
        )

    def report_status(
        self,
        player: str,
        room_id: str,
        body: Any,
        *,
        language: str | None = None,
        consistency_token: str | None = None,
    ) -> dict[str, Any] | None:
        model = self._model(RoomP2PStatuses, body)
        if model is None:
            params = {"language": language, "consistencyToken": consistency_token}
            return self._raw(player, f"rooms/{room_id}/reportstatus", body, params)
        client = self._client(player)
        return self._run(
            lambda: client.report_status(
                room_id, model, language=language, consistency_token=consistency_token
            )
        )

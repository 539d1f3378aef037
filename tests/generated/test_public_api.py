"""The public names and signatures other code builds on (the reference server among them)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest
from rooms_api import client, errors, server
from rooms_api.models import Room

MODULES = ["rooms_api.client", "rooms_api.async_client", "rooms_api.errors", "rooms_api.server",
           "rooms_api.fields", "rooms_api.documents"]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for exported in module.__all__:
        assert hasattr(module, exported)


HANDLER = {
    "create": "(self, principal, body, *, language=None, consistency_token=None)",
    "decline": "(self, principal, room_id, *, language=None, consistency_token=None)",
    "dismiss": "(self, principal, room_id, *, consistency_token=None)",
    "get": "(self, principal, room_id, *, language=None, consistency_token=None)",
    "join": "(self, principal, room_id, body, *, language=None, consistency_token=None)",
    "leave": "(self, principal, room_id, body, *, language=None, consistency_token=None)",
    "list": "(self, principal, *, page_token=None, language=None, max_results=None, "
    "consistency_token=None)",
    "report_status": "(self, principal, room_id, body, *, language=None, consistency_token=None)",
}


def unannotated(function: object) -> str:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    plain = [p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=plain, return_annotation=inspect.Signature.empty))


def test_handler_protocol_is_the_agreed_one() -> None:
    methods = {
        name: unannotated(member)
        for name, member in vars(server.RoomsHandler).items()
        if inspect.iscoroutinefunction(member)
    }
    assert methods == HANDLER
    annotations = {
        name: inspect.get_annotations(getattr(server.RoomsHandler, name))["return"]
        for name in HANDLER
    }
    assert annotations == {
        "create": "Room", "decline": "Room", "dismiss": "None", "get": "Room", "join": "Room",
        "leave": "Room", "list": "RoomList", "report_status": "RoomStatus",
    }  # fmt: skip


def test_wire_handler_protocol_has_the_same_methods_on_dicts() -> None:
    methods = {
        name: unannotated(member)
        for name, member in vars(server.WireRoomsHandler).items()
        if inspect.iscoroutinefunction(member)
    }
    assert methods == HANDLER
    hints = {
        name: inspect.get_annotations(getattr(server.WireRoomsHandler, name)) for name in HANDLER
    }
    assert {name: hint["return"] for name, hint in hints.items()} == {
        name: "None" if name == "dismiss" else "dict[str, Any]" for name in HANDLER
    }
    assert {name: hint["body"] for name, hint in hints.items() if "body" in hint} == {
        "create": "dict[str, Any]", "join": "dict[str, Any]", "leave": "dict[str, Any]",
        "report_status": "dict[str, Any]",
    }  # fmt: skip
    assert inspect.get_annotations(server.WireRoomsHandler)["wire_dicts"] == "bool"


def test_server_building_blocks() -> None:
    assert [f.name for f in dataclasses.fields(server.Principal)] == ["player_id"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        server.Principal("a").player_id = "b"  # type: ignore[misc]
    error = server.ApiError(409, "conflict", "Room is full")
    assert (error.status, error.reason, error.message) == (409, "conflict", "Room is full")
    assert error.envelope() == {
        "error": {
            "code": 409,
            "message": "Room is full",
            "errors": [{"domain": "global", "reason": "conflict", "message": "Room is full"}],
        }
    }
    assert unannotated(server.create_app) == (
        "(handler, authenticator, *, validate_responses=False, strict_requests=True, schemas=None, "
        "max_body_bytes=1048576)"
    )


def test_clients_offer_the_same_operations() -> None:
    operations = set(HANDLER) | {"list_pages", "list_all"}
    for cls in (client.RoomsClient, client.AsyncRoomsClient):
        public = {n for n in vars(cls) if not n.startswith("_")}
        assert operations <= public
        assert unannotated(cls.get) == ("(self, room_id, *, language=None, consistency_token=None)")
    assert client.RoomsClient.dismiss.__annotations__["return"] == "None"
    assert client.RoomsClient.get.__annotations__["return"] == "Room"


def test_exception_hierarchy() -> None:
    for name in ("BadRequestError", "AuthenticationError", "PermissionDeniedError",
                 "NotFoundError", "ConflictError", "RateLimitError", "ServerError"):  # fmt: skip
        assert issubclass(getattr(errors, name), errors.RoomsHttpError)
    assert issubclass(errors.RoomsHttpError, errors.RoomsApiError)
    assert issubclass(errors.RoomsConnectionError, errors.RoomsApiError)
    assert issubclass(errors.UnexpectedResponseError, errors.RoomsApiError)
    assert Room.__module__ == "rooms_api.models"


def test_client_constructors_require_a_base_url() -> None:
    for cls in (client.RoomsClient, client.AsyncRoomsClient):
        parameters = inspect.signature(cls).parameters
        assert list(parameters) == [
            "token", "base_url", "timeout", "retry", "transport", "headers", "sleep", "rand",
        ]  # fmt: skip
        parameter = parameters["base_url"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default is inspect.Parameter.empty
    assert not hasattr(client, "DEFAULT_BASE_URL")


@pytest.mark.parametrize("name", sorted(HANDLER))
def test_client_methods_document_arguments_return_and_errors(name: str) -> None:
    for cls in (client.RoomsClient, client.AsyncRoomsClient):
        method = getattr(cls, name)
        doc = inspect.getdoc(method) or ""
        parameters = [p for p in inspect.signature(method).parameters if p != "self"]
        args = doc.split("Args:\n", 1)[1].split("\n\n", 1)[0]
        assert [line.split(":")[0].strip() for line in args.splitlines() if line[:4] == "    "
                and line[4] != " "] == parameters  # fmt: skip
        assert "\nReturns:\n" in doc
        assert "RoomsHttpError:" in doc and "RoomsConnectionError:" in doc

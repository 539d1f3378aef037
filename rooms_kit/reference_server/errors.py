"""Refusals of the room service, each with the HTTP status and Google reason it travels as.

``ServiceError`` is the base; ``InvalidRequest`` (400 ``invalid``), ``RoomNotFound`` (404
``notFound``, also used for rooms the caller may not see) and ``Conflict`` (409 ``conflict``) are
the three the behaviour code raises. The HTTP layer turns them into Google's error envelope.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request the room service refuses; carries its HTTP status and Google reason."""

    status = 500
    reason = "backendError"

    def __init__(self, message: str, *, pointer: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer
        """JSON pointer of the offending value in the request body, when one is to blame."""


class InvalidRequest(ServiceError):
    """The request breaks a rule of the API (malformed value, impossible combination)."""

    status = 400
    reason = "invalid"


class RoomNotFound(ServiceError):
    """The room does not exist, or the caller is not one of its participants."""

    status = 404
    reason = "notFound"

    def __init__(self, room_id: str) -> None:
        super().__init__(f"Room not found: {room_id}")


class Conflict(ServiceError):
    """The caller's or the room's status does not allow this transition."""

    status = 409
    reason = "conflict"

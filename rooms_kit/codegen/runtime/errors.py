"""Exceptions raised by ``RoomsClient`` and ``AsyncRoomsClient``, and Google's error envelope.

::

    RoomsApiError                  anything the clients raise on purpose
    ├── RoomsConnectionError       no HTTP answer (connection refused, timeout), after retries
    ├── UnexpectedResponseError    a success status whose body does not fit the reply's model
    └── RoomsHttpError             an HTTP error status; carries .status, .reason, .envelope
        ├── BadRequestError        400
        ├── AuthenticationError    401
        ├── PermissionDeniedError  403
        ├── NotFoundError          404
        ├── ConflictError          409
        ├── RateLimitError         429 (after the retries ran out)
        └── ServerError            5xx (after the retries ran out)

Any other status raises ``RoomsHttpError`` itself.

Every exception pickles (so it can cross a process boundary) with all its attributes, the httpx
``response`` included; only ``__cause__`` stays behind, as with any pickled exception.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ErrorBody",
    "ErrorEnvelope",
    "ErrorItem",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RoomsApiError",
    "RoomsConnectionError",
    "RoomsHttpError",
    "ServerError",
    "UnexpectedResponseError",
    "error_from_response",
]


class ErrorItem(BaseModel):
    """One entry of ``error.errors``."""

    model_config = ConfigDict(extra="allow", validate_by_name=True)
    domain: str | None = None
    reason: str | None = None
    message: str | None = None
    location: str | None = None
    location_type: str | None = Field(default=None, alias="locationType")


class ErrorBody(BaseModel):
    """The ``error`` member: HTTP status, a message and the detailed errors."""

    model_config = ConfigDict(extra="allow")
    code: int | None = None
    message: str | None = None
    errors: list[ErrorItem] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    """``{"error": {"code": …, "message": …, "errors": [{"domain", "reason", "message"}]}}``."""

    model_config = ConfigDict(extra="allow")
    error: ErrorBody


def _rebuild(cls: type[RoomsApiError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Unpickle an exception without calling its ``__init__`` (whose arguments differ)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class RoomsApiError(Exception):
    """Base class of every exception the clients raise on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class RoomsConnectionError(RoomsApiError):
    """The request got no HTTP answer; the httpx exception is the ``__cause__``."""


class UnexpectedResponseError(RoomsApiError):
    """A success answer whose body is not the documented reply.

    The pydantic ``ValidationError`` is the ``__cause__``; ``response`` is the raw answer.
    """

    def __init__(self, response: httpx.Response, problem: str) -> None:
        super().__init__(f"HTTP {response.status_code} with an unexpected body: {problem}")
        self.response = response
        self.status = response.status_code


class RoomsHttpError(RoomsApiError):
    """The server answered with an error status.

    ``envelope`` is the parsed Google error body, or ``None`` when the body was not one;
    ``reason`` is the first ``errors[].reason`` (``notFound``, ``conflict`` …) when there is one.
    """

    def __init__(self, response: httpx.Response, envelope: ErrorEnvelope | None) -> None:
        self.response = response
        self.status = response.status_code
        self.envelope = envelope
        body = envelope.error if envelope is not None else None
        self.reason = body.errors[0].reason if body is not None and body.errors else None
        if body is not None and body.message:
            self.message = body.message
        else:
            self.message = response.text[:200] or response.reason_phrase
        super().__init__(f"HTTP {self.status}: {self.message}")


class BadRequestError(RoomsHttpError):
    """400: a parameter or the body broke the contract."""


class AuthenticationError(RoomsHttpError):
    """401: no token, or a token the server does not accept."""


class PermissionDeniedError(RoomsHttpError):
    """403: the caller may not do this."""


class NotFoundError(RoomsHttpError):
    """404: no such room (or path)."""


class ConflictError(RoomsHttpError):
    """409: the room is not in a state that allows the operation."""


class RateLimitError(RoomsHttpError):
    """429: too many requests, still refused after the retries."""


class ServerError(RoomsHttpError):
    """5xx: the server failed, still failing after the retries."""


_BY_STATUS: dict[int, type[RoomsHttpError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_from_response(response: httpx.Response) -> RoomsHttpError:
    """The typed exception for an error response (its body must already be read)."""
    try:
        envelope: ErrorEnvelope | None = ErrorEnvelope.model_validate_json(response.content)
    except ValidationError:
        envelope = None
    if response.status_code >= 500:
        return ServerError(response, envelope)
    return _BY_STATUS.get(response.status_code, RoomsHttpError)(response, envelope)

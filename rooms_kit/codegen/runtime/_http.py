"""What both clients share: where requests go, when they are sent again, how values travel."""

from __future__ import annotations

import email.utils
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from rooms_api._api import RETIRED_ROOT_URL, SERVICE_PATH, USER_AGENT
from rooms_api.errors import UnexpectedResponseError

__all__ = ["USER_AGENT", "RetryPolicy", "Token"]

Token = str | Callable[[], str] | None
Reply = TypeVar("Reply", bound=BaseModel)
Body = TypeVar("Body", bound=BaseModel)

INT64_MAX = 2**63 - 1
# Transport errors raised before any byte of the request left this process: safe to send again.
NEVER_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a request again.

    Attempt ``n`` (0-based) waits ``min(max_delay, initial_delay * multiplier**n)`` scaled by a
    random factor in ``[1 - jitter, 1]``. A ``Retry-After`` header replaces that delay, capped at
    ``max_delay``. ``max_retries=0`` disables retrying.

    Only a request that can be replayed safely is retried after it reached the server: a ``GET``,
    or a ``POST`` whose body carries an idempotency key (``create`` with its ``requestId``). Other
    ``POST`` requests are retried only when the connection could not be made at all.
    """

    max_retries: int = 4
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.5
    retry_statuses: frozenset[int] = field(
        default_factory=lambda: frozenset({429, 500, 502, 503, 504})
    )

    def should_retry(self, attempt: int, status: int | None, *, replayable: bool = True) -> bool:
        """Whether attempt ``attempt`` (0-based) that got ``status`` is sent again.

        ``status`` is None when no answer came back; ``replayable`` is False for a request the
        server may already have carried out and that has no idempotency key.
        """
        if attempt >= self.max_retries or not replayable:
            return False
        return status is None or status in self.retry_statuses

    def should_retry_failure(
        self, attempt: int, error: httpx.TransportError, *, replayable: bool
    ) -> bool:
        """Whether a request that got no answer because of ``error`` is sent again."""
        never_sent = isinstance(error, NEVER_SENT)
        return self.should_retry(attempt, None, replayable=replayable or never_sent)

    def delay(self, attempt: int, retry_after: str | None, rand: Callable[[], float]) -> float:
        """Seconds to wait after attempt ``attempt`` failed."""
        hinted = retry_after_seconds(retry_after)
        if hinted is not None:
            return min(hinted, self.max_delay)
        backoff = min(self.max_delay, self.initial_delay * self.multiplier**attempt)
        return backoff * (1.0 - self.jitter * rand())


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def missing_base_url(client: str, args: tuple[object, ...]) -> str:
    """What a ``client`` built without ``base_url`` says (``args``: its positional arguments)."""
    message = (
        f"{client}() needs base_url=, the address of a server that implements the rooms API, "
        f"for example {client}(token, base_url='http://127.0.0.1:8080') (the service at "
        f"{RETIRED_ROOT_URL} was retired, so there is no default)"
    )
    if any(
        isinstance(arg, str) and arg.strip().startswith(("http://", "https://")) for arg in args
    ):
        message += "; an address was passed by position, where only the token goes: name it"
    return message


def service_root(base_url: str) -> str:
    """The URL every operation path is appended to, from the base URL a user gives.

    ``http://host:8080``, ``http://host:8080/`` and the same with the service path
    (``.../games/v1`` or ``.../games/v1/``) all name the same service.
    """
    if not isinstance(base_url, str) or not base_url.strip():
        raise ValueError(
            "base_url is required: the address of a server that implements the rooms API, "
            "for example http://127.0.0.1:8080 (the service at "
            f"{RETIRED_ROOT_URL} was retired, so there is no default)"
        )
    try:
        url = httpx.URL(base_url.strip())
    except httpx.InvalidURL as exc:
        raise ValueError(f"base_url {base_url!r} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"base_url {base_url!r} must be an http:// or https:// URL with a host, "
            "for example http://127.0.0.1:8080"
        )
    root = str(url.copy_with(query=None, fragment=None)).rstrip("/")
    service = SERVICE_PATH.strip("/")
    if root.endswith("/" + service):
        return root + "/"
    return f"{root}/{service}/"


def segment(value: str) -> str:
    """A path parameter, percent-encoded so that ``/`` stays inside it."""
    return quote(value, safe="")


def query_params(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def json_body(body: BaseModel) -> Any:
    return body.model_dump(mode="json", by_alias=True, exclude_none=True)


def with_request_id(body: Body, attribute: str) -> Body:
    """``body`` with a fresh random int64 in ``attribute`` when it has none (a copy; never mutated).

    The server recognises a repeated request by this key, so a retry cannot carry it out twice.
    """
    if getattr(body, attribute) is not None:
        return body
    return body.model_copy(update={attribute: str(secrets.randbelow(INT64_MAX) + 1)})


class Settings:
    """What one client instance sends with every request."""

    def __init__(
        self, base_url: str, token: Token, retry: RetryPolicy, rand: Callable[[], float]
    ) -> None:
        self.root = service_root(base_url)
        self.token = token
        self.retry = retry
        self.rand = rand

    def headers(self) -> dict[str, str]:
        token = self.token() if callable(self.token) else self.token
        return {"Authorization": f"Bearer {token}"} if token else {}


def parse_reply(model: type[Reply], response: httpx.Response) -> Reply:
    """The reply's model, or ``UnexpectedResponseError`` when the body does not fit it."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(part) for part in first["loc"])
        raise UnexpectedResponseError(response, f"/{where}: {first['msg']}") from exc

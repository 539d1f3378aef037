"""The connection and retry loop under both clients; the generated classes add one method per call.

``BlockingTransport`` and ``AsyncTransport`` hold the same loop, once with ``httpx.Client`` and once
awaited with ``httpx.AsyncClient``: send, and on a failure ask the ``RetryPolicy`` whether to wait
and send again. ``replayable`` says whether the request may be sent again after it reached the
server (see ``RetryPolicy``).
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Self

import httpx
from pydantic import BaseModel

from rooms_api._http import (
    USER_AGENT,
    RetryPolicy,
    Settings,
    Token,
    json_body,
    missing_base_url,
    query_params,
)
from rooms_api.errors import RoomsConnectionError, error_from_response

__all__ = ["AsyncTransport", "BlockingTransport"]


def _headers(extra: Mapping[str, str] | None) -> dict[str, str]:
    return {"User-Agent": USER_AGENT, **(extra or {})}


class _NamedByTheClient:
    """Checks a client's constructor arguments before ``__init__`` runs, so that a call that does
    not fit is a ``TypeError`` naming the client (``RoomsClient``) and its parameter, rather than
    this module's base class: Python's own message names the class that defines ``__init__``.

    Defined on a base below the transports, so that ``inspect.signature`` and type checkers still
    read the transports' ``__init__``, which comes first in the method resolution order."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        try:
            inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        except TypeError as exc:
            if "base_url" not in kwargs:
                raise TypeError(missing_base_url(cls.__name__, args)) from None
            raise TypeError(f"{cls.__name__}(): {exc}") from None
        return super().__new__(cls)


class BlockingTransport(_NamedByTheClient):
    """Blocking HTTP plumbing. Use the client as a context manager, or call ``close()`` when done.

    ``base_url`` is required: the server's address, with or without the ``games/v1/`` path.
    """

    def __init__(
        self,
        token: Token = None,
        *,
        base_url: str,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._settings = Settings(base_url, token, retry or RetryPolicy(), rand)
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport, headers=_headers(headers))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        body: BaseModel | None,
        *,
        replayable: bool,
    ) -> httpx.Response:
        url = self._settings.root + path
        policy = self._settings.retry
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method,
                    url,
                    params=query_params(params),
                    json=json_body(body) if body is not None else None,
                    headers=self._settings.headers(),
                )
            except httpx.TransportError as exc:
                if not policy.should_retry_failure(attempt, exc, replayable=replayable):
                    raise RoomsConnectionError(f"{method} {url}: {exc}") from exc
                self._sleep(policy.delay(attempt, None, self._settings.rand))
                attempt += 1
                continue
            if response.is_success:
                return response
            if not policy.should_retry(attempt, response.status_code, replayable=replayable):
                raise error_from_response(response)
            retry_after = response.headers.get("Retry-After")
            self._sleep(policy.delay(attempt, retry_after, self._settings.rand))
            attempt += 1


class AsyncTransport(_NamedByTheClient):
    """Asynchronous HTTP plumbing. Use the client as an async context manager, or ``aclose()`` it.

    ``base_url`` is required: the server's address, with or without the ``games/v1/`` path.
    """

    def __init__(
        self,
        token: Token = None,
        *,
        base_url: str,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._settings = Settings(base_url, token, retry or RetryPolicy(), rand)
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            timeout=timeout, transport=transport, headers=_headers(headers)
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        body: BaseModel | None,
        *,
        replayable: bool,
    ) -> httpx.Response:
        url = self._settings.root + path
        policy = self._settings.retry
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    url,
                    params=query_params(params),
                    json=json_body(body) if body is not None else None,
                    headers=self._settings.headers(),
                )
            except httpx.TransportError as exc:
                if not policy.should_retry_failure(attempt, exc, replayable=replayable):
                    raise RoomsConnectionError(f"{method} {url}: {exc}") from exc
                await self._sleep(policy.delay(attempt, None, self._settings.rand))
                attempt += 1
                continue
            if response.is_success:
                return response
            if not policy.should_retry(attempt, response.status_code, replayable=replayable):
                raise error_from_response(response)
            retry_after = response.headers.get("Retry-After")
            await self._sleep(policy.delay(attempt, retry_after, self._settings.rand))
            attempt += 1

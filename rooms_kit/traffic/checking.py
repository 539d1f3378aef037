"""The glue to the contract suite: bounds for proxied exchanges and the suite's per-exchange checks.

Everything the proxy borrows from ``rooms_kit.contract`` goes through this module, so that when the
suite's bounded reader and check registry change, only this file follows.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx

from rooms_kit.contract import bounded
from rooms_kit.contract.bounded import BodyReader, TransportFailure, check_headers
from rooms_kit.contract.checks import CheckContext, run_response_checks
from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.http import Exchange, RecordedRequest, RecordedResponse
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.errors import KitError

# Check names for what the proxy itself sees go wrong, as the suite's registry names them.
RESPONDS_IN_TIME = "responds_in_time"
RESPONSE_SIZE = "response_size"
COMPLETE_RESPONSE = "complete_response"
HTTP_PROTOCOL = "http_protocol"
NO_ANSWER = "not_a_server_error"
CACHE_SIZE = 4096  # verdicts kept, one per distinct (operation, status, content type, body)


@dataclass(frozen=True)
class Limits:
    """Bounds on everything that comes from outside, per exchange (and one for them all)."""

    seconds: float = 30.0  # from the request being forwarded to the last byte of the answer
    max_request_bytes: int = 1024 * 1024
    max_response_bytes: int = 8 * 1024 * 1024  # raw and after decompression alike
    max_held_bytes: int = 256 * 1024 * 1024
    """Answers kept for judging by every exchange in flight together (the one bound not per
    exchange: 1,000 clients that stop reading 8 MiB answers would hold 8 GiB). An answer that
    would go past it is forwarded but not judged (``Seen.unjudged``); in strict mode, 503."""

    @cached_property
    def suite(self) -> bounded.Limits:
        """The same bounds in the suite's terms (header caps and JSON depth: the suite's)."""
        return bounded.Limits(
            request_timeout=self.seconds, max_response_bytes=self.max_response_bytes
        )


def check_base_url(url: str, flag: str) -> str:
    """``url`` without a trailing slash, or a ``KitError`` naming ``flag`` and what is wrong."""
    if "@" in url.split("?", 1)[0].split("#", 1)[0]:  # never echoed: it may hold a password
        raise KitError(
            f"{flag}: a user name or password in the URL is not supported (each request carries "
            "its own credentials)"
        )
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # an IDNA label that does not decode ('xn--ls8h') raises here
    except (httpx.InvalidURL, UnicodeError) as exc:  # idna's errors are UnicodeErrors
        raise KitError(f"{flag} {url!r} is not a URL: {exc}") from None
    if parsed.scheme not in {"http", "https"} or not host:
        raise KitError(f"{flag} {url!r} must be an http:// or https:// URL with a host")
    if parsed.query or parsed.fragment:  # not echoed: a query may hold an oauth_token
        raise KitError(f"{flag} must not carry a query or a fragment (the URL is not shown)")
    if parsed.userinfo:  # never echoed: it may hold a password
        raise KitError(
            f"{flag}: a user name or password in the URL is not supported (each request carries "
            "its own credentials)"
        )
    return url.rstrip("/")


def body_reader(
    limits: Limits, content_encoding: str | None, *, started: float, status: int
) -> BodyReader:
    """The suite's bounded reader for one answer (``started``: ``time.monotonic()``).

    It raises ``TransportFailure`` (``response_size``, ``responds_in_time``, ``http_protocol``,
    ``complete_response``) as the suite does; ``as_failure`` turns that into a violation.
    """
    return BodyReader(limits.suite, content_encoding, started=started, status=status)


def headers_problem(headers: list[tuple[str, str]], limits: Limits) -> ContractFailure | None:
    try:
        check_headers(tuple(headers), limits.suite)
    except TransportFailure as failure:
        return as_failure(failure)
    return None


def as_failure(failure: TransportFailure) -> ContractFailure:
    return ContractFailure(failure.check, failure.title, failure.message)


Verdicts = list[tuple[str, ContractFailure | None]]


class Judge:
    """The contract suite's per-exchange checks, loaded once.

    The checks look only at the operation and the answer (status, content type, body), so their
    verdict on an answer already judged is taken from a bounded cache: clients that poll a room
    get the same bytes again and again, and the schema checks are the costly part of the proxy.
    """

    def __init__(self, openapi: OpenApi | None = None, *, cache_size: int = CACHE_SIZE) -> None:
        self.context = CheckContext(openapi or OpenApi.load())
        _ = self.context.strict  # compile the validators now, not on the first request
        _ = self.context.int64_pattern
        self.cache_size = cache_size
        self._cache: OrderedDict[bytes, Verdicts] = OrderedDict()
        self._lock = threading.Lock()  # proxies judge beside their loops (and tests share a judge)
        self.hits = 0

    @property
    def openapi(self) -> OpenApi:
        return self.context.openapi

    def run(self, exchange: Exchange) -> Verdicts:
        """Every per-exchange check: its name and its failure, or None when it passed."""
        response = exchange.response
        key = hashlib.blake2b(
            f"{exchange.operation} {response.status} {response.header('content-type')}".encode()
            + b"\0"
            + response.body,
            digest_size=20,
        ).digest()
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return found
        verdicts = run_response_checks(self.context, exchange)
        with self._lock:
            self._cache[key] = verdicts
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return verdicts


def exchange(
    operation: str,
    method: str,
    url: str,
    request_headers: list[tuple[str, str]],
    request_body: bytes,
    status: int,
    response_headers: list[tuple[str, str]],
    response_body: bytes,
    reader: Callable[[], tuple[Any, bool]] | None = None,
) -> Exchange:
    """An exchange in the suite's terms (headers must already carry aliases, never tokens);
    ``reader`` reads the answer's body for the checks (``Seen.reading``, shared with the rules)."""
    return Exchange(
        operation,
        RecordedRequest(method, url, tuple(request_headers), request_body or None),
        RecordedResponse(status, tuple(response_headers), response_body, reader=reader),
    )

"""The proxy's side towards clients: one ``asyncio.Protocol`` per connection, parsed by httptools.

It replaces uvicorn and its ASGI round trip, whose pure-Python HTTP/1.1 handling cost the proxy
more CPU per exchange than the upstream server spends answering. The bounds are those of the
reference server (``ConnectionLimits``): the request head within ``max_header_bytes`` (else 431)
and ``header_timeout`` seconds (else 408), the body within ``Limits.max_request_bytes`` (else 413,
after it has been read so the client sees the answer) and ``Limits.seconds`` (else 408), an idle
keep-alive connection closed after ``keep_alive_timeout``, at most ``max_connections`` open
connections (beyond: 503 with ``Retry-After``), and at most ``MAX_PIPELINED`` requests waiting
behind the one being answered (beyond: 429 once those are answered). Malformed HTTP gets 400.
A refusal made while an answer is on its way waits for the answers before it. Every answer made
here carries Google's error envelope and closes the connection; to a HEAD request (known as such
once its request line has been read) it is the head alone, its ``content-length`` the envelope's
as for GET.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httptools

from rooms_kit.reference_server.limits import raw_response

if TYPE_CHECKING:
    from rooms_kit.traffic.proxy import Proxy

MAX_PIPELINED = 16


class Request:
    """A complete request from a client, as received (raw target, raw headers)."""

    __slots__ = ("body", "headers", "keep_alive", "method", "target")

    def __init__(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        keep_alive: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


class _Refusal(Exception):
    def __init__(self, status: int, phrase: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.answer = (status, phrase, reason, message)


def origin_form(target: bytes) -> bytes:
    """The path and query of a request target: the absolute form (``http://host/path?q``) is
    reduced to them, ``/path`` and ``*`` stay. A target that is no URL (``http://[::1/``) is
    refused with 400; before, the error escaped and the client waited for good."""
    if target.startswith(b"/") or target == b"*":
        return target
    try:
        parts = urlsplit(target.decode("latin-1"))
    except ValueError:
        raise _Refusal(
            400, "Bad Request", "badRequest", "the request target is not a URL"
        ) from None
    path = (parts.path or "/").encode("latin-1")
    return path + (b"?" + parts.query.encode("latin-1") if parts.query else b"")


class ClientConnection(asyncio.Protocol):
    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.limits = proxy.connection_limits
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.gone = False
        self.busy = False
        self.waiting: deque[Request] = deque()
        self._deferred: tuple[int, str, str, str, tuple[str, ...], bool] | None = None
        self.deadline = 0.0  # time.monotonic() when ``expire`` is due; 0: none
        self.stalled_at = 0.0  # since when writing has waited for the client to read (0: never)
        self.unsent = 0  # bytes waiting to be written when the ticker last looked
        self.expire: Callable[[], None] = self._idle_too_long
        self._reset()

    def _reset(self) -> None:
        self._url: list[bytes] = []
        self._method: bytes | None = None  # of the request being read, once its line is in
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._too_large = False
        self._continue = False  # the client waits for 100 Continue before its body

    # -- the connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.proxy.connections.add(self)
        if len(self.proxy.connections) > self.proxy.cap:
            self.refuse(
                503,
                "Service Unavailable",
                "backendError",
                "the proxy has as many connections as it accepts; retry shortly",
                (f"retry-after: {self.limits.retry_after_seconds}",),
            )
            return
        self._arm(self.limits.header_timeout, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self._disarm()
        self.waiting.clear()
        self.proxy.connections.discard(self)
        self.proxy.client_is_slow(self, False)  # an answer in flight is read on, and judged

    def data_received(self, data: bytes) -> None:
        if self.gone or self._deferred is not None:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.refuse(400, "Bad Request", "badRequest", "protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _Refusal):
                self.refuse(*exc.__context__.answer)
            else:
                self.refuse(400, "Bad Request", "badRequest", f"malformed HTTP/1.1 request: {exc}")

    def pause_writing(self) -> None:
        self.stalled_at = time.monotonic()
        self.proxy.client_is_slow(self, True)

    def resume_writing(self) -> None:
        self.stalled_at = 0.0
        self.proxy.client_is_slow(self, False)
        if not self.busy and self.waiting:  # a request held back while the client did not read
            self.finished(close=False)

    # -- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if not self.busy:
            self._arm(self.limits.header_timeout, self._head_too_slow)

    def on_url(self, url: bytes) -> None:
        if self._method is None:  # the parser has read the method by the time the target comes
            self._method = self.parser.get_method()
        self._url.append(url)
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        self._count_head(len(name) + len(value) + 4)
        if len(name) == 6 and name.lower() == b"expect" and value.lower() == b"100-continue":
            self._continue = True

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_header_bytes:
            raise _Refusal(
                431,
                "Request Header Fields Too Large",
                "requestHeadersTooLarge",
                f"the request head is larger than {self.limits.max_header_bytes} bytes",
            )

    def on_headers_complete(self) -> None:
        if self.parser.should_upgrade():  # websockets, CONNECT: not part of the API
            raise _Refusal(400, "Bad Request", "badRequest", "protocol upgrades are not supported")
        if not self.busy:
            self._arm(self.proxy.limits.seconds, self._body_too_slow)
        if self._continue and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.proxy.limits.max_request_bytes:
            self._too_large = True  # read on, so that the client gets to read the 413
            self._body = []
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._deferred is not None:
            return  # a refusal waits for the answers before it; nothing after it is served
        if self._too_large:
            limit = self.proxy.limits.max_request_bytes
            raise _Refusal(
                413,
                "Content Too Large",
                "requestTooLarge",
                f"the request body is larger than {limit} bytes",
            )
        request = Request(
            self.parser.get_method(),
            origin_form(b"".join(self._url)),
            self._headers,
            b"".join(self._body),
            self.parser.should_keep_alive(),
        )
        waits = self.busy or self.stalled_at  # stalled: answers sent are unread, this one waits
        if waits and len(self.waiting) >= MAX_PIPELINED:
            raise _Refusal(  # before ``_reset``: the refusal answers this request's method
                429,
                "Too Many Requests",
                "rateLimitExceeded",
                f"more than {MAX_PIPELINED} requests sent ahead of their answers",
            )
        self._reset()
        if waits:
            self.waiting.append(request)
            if not self.busy:  # it came whole: only the write timeout bounds the wait now
                self._disarm()
            if self.transport is not None:
                self.transport.pause_reading()
            return
        self._start(request)

    # -- answering -----------------------------------------------------------------------------

    def _start(self, request: Request) -> None:
        self.busy = True
        self._disarm()
        self.proxy.forward(self, request)

    def write(self, data: bytes) -> None:
        if not self.gone and self.transport is not None:
            self.transport.write(data)

    def finished(self, *, close: bool) -> None:
        """The answer to the current request is out (or cut: ``close``)."""
        self.busy = False
        if self.gone or self.transport is None:
            return
        if close:
            self.gone = True
            self.transport.close()
            return
        if self.waiting:
            if self.stalled_at:  # unread answers wait: the next is fetched once it reads again
                return
            self._start(self.waiting.popleft())
            if not self.waiting and self._deferred is None:
                self.transport.resume_reading()
            return
        if self._deferred is not None:
            self.refuse(*self._deferred)
            return
        if self._head_bytes or self._url:  # the next request has begun arriving
            self._arm(self.limits.header_timeout, self._head_too_slow)
        else:
            self._arm(self.limits.keep_alive_timeout, self._idle_too_long)
        if self.proxy.stopping:
            self.close_idle()

    def close_idle(self) -> None:
        """Close the connection if it is between requests (used at stop)."""
        if not self.busy and not self.waiting and not self._url and self.transport is not None:
            self.gone = True
            self.transport.close()

    def refuse(
        self,
        status: int,
        phrase: str,
        reason: str,
        message: str,
        extra: tuple[str, ...] = (),
        head_only: bool | None = None,
    ) -> None:
        """Answer with an error of the proxy's own and close once it is out (after the answers
        to the requests before it, when one is being answered). ``head_only``: the request
        refused is known to be HEAD (by default, when the one being read is)."""
        if self.gone or self.transport is None:
            return
        if head_only is None:
            head_only = self._method == b"HEAD"
        if self.busy:
            self._deferred = (status, phrase, reason, message, extra, head_only)
            self.transport.pause_reading()
            return
        self.gone = True
        self._disarm()
        answer = raw_response(status, phrase, reason, message, extra)
        if head_only:  # HTTP allows no body after an answer to HEAD: its head alone goes out
            answer = answer[: answer.index(b"\r\n\r\n") + 4]
        self.transport.write(answer)
        self.transport.close()

    # -- deadlines (checked by the proxy's ticker, not one timer per request) ----------------

    def _arm(self, seconds: float, then: Callable[[], None]) -> None:
        self.deadline = time.monotonic() + seconds
        self.expire = then

    def _disarm(self) -> None:
        self.deadline = 0.0

    def _head_too_slow(self) -> None:
        seconds = self.limits.header_timeout
        self.refuse(
            408,
            "Request Timeout",
            "requestTimeout",
            f"the request head did not arrive within {seconds:g} s",
        )

    def _body_too_slow(self) -> None:
        seconds = self.proxy.limits.seconds
        self.refuse(
            408,
            "Request Timeout",
            "requestTimeout",
            f"the request body did not arrive within {seconds:g} s",
        )

    def _idle_too_long(self) -> None:
        if not self.busy and self.transport is not None:
            self.gone = True
            self.transport.close()

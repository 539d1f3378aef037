"""Connection limits of ``rooms-kit serve``: deadlines, a connection cap, and closing politely.

uvicorn's HTTP/1.1 protocol (h11) is extended, not replaced; ``guarded_protocol`` builds the
protocol class that ``serving`` hands to uvicorn. Each connection gets:

- a **header deadline**: a request's headers must be complete within ``header_timeout`` seconds
  of the connection opening or of the previous answer; otherwise 408 and the connection closes;
- a **body deadline**: once its headers are in, the body must be complete within
  ``body_timeout`` seconds; otherwise 408 and the connection closes (the handler sees a client
  that went away and does nothing);
- the **idle keep-alive timeout** is uvicorn's own (``timeout_keep_alive``);
- a **connection cap**: beyond ``max_connections`` open connections, a new connection displaces
  the one that has waited longest for its request headers (slow or idle clients make way for
  working ones); when every connection is busy with a request, the new one gets 503 with
  ``Retry-After``. The cap is kept below the process's descriptor limit, so accepting never runs
  out of descriptors;
- a **slow reader** (one that leaves its answers unread) loses its connection, and the unread
  answers with it, once the next header deadline passes; and when unread answers fill the
  socket and the transport's buffer, so that writing stops (a pipelining client that never
  reads), writing must resume within ``write_timeout`` seconds or the connection is dropped;
- a **lingering close**: when the server ends a connection while the client may still be sending
  (an answer given before the body was read, a refusal, a timeout), it sends its answer, stops
  writing, and discards whatever still arrives for up to ``LINGER_SECONDS`` before closing, so the
  client can read the answer instead of meeting a reset.

Answers made here use Google's error envelope, like the stub's, and each one gets an access-log
line like a request's (``method`` and ``path`` are null when no request line was read).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from rooms_kit.reference_server.access_log import (
    ACCESS_LOGGER,
    REFUSED_KEY,
    access_line,
    log_line,
)

LINGER_SECONDS = 2.0
MAX_LINGERING = 32
"""Most connections lingering at once; beyond that a connection closes at once, so lingering can
never hold more descriptors than this."""
ACCEPT_BATCH = 32
"""Connections asyncio accepts in one go before the protocol sees any of them (uvicorn's
``backlog``); the kernel's own queue is set back to ``LISTEN_BACKLOG`` once the server runs."""
LISTEN_BACKLOG = 2048
DESCRIPTOR_RESERVE = 2 * ACCEPT_BATCH + MAX_LINGERING + 160
"""Descriptors kept free beyond the connection cap: connections accepted but not yet counted,
lingering ones, and the rest of the process (SQLite files of each worker thread, logs, the
listening socket)."""
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits one server applies to its connections (seconds, counts, bytes)."""

    max_connections: int = 1000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    write_timeout: float = 30.0
    keep_alive_timeout: int = 5
    max_header_bytes: int = 16 * 1024
    retry_after_seconds: int = 1


def connection_cap(requested: int) -> int:
    """``requested``, lowered to what the descriptor limit (RLIMIT_NOFILE) leaves room for."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return requested
    return max(1, min(requested, soft - DESCRIPTOR_RESERVE))


def error_body(status: int, reason: str, message: str) -> bytes:
    item = {"domain": "global", "reason": reason, "message": message}
    return json.dumps({"error": {"code": status, "message": message, "errors": [item]}}).encode()


def raw_response(
    status: int, phrase: str, reason: str, message: str, extra: tuple[str, ...] = ()
) -> bytes:
    """A complete HTTP/1.1 error answer that closes the connection, written without h11 (for
    moments where h11 has no request to answer yet)."""
    return raw_answer(status, phrase, error_body(status, reason, message), extra)


def raw_answer(status: int, phrase: str, body: bytes, extra: tuple[str, ...] = ()) -> bytes:
    """``raw_response`` for a body already in Google's envelope."""
    head = [
        f"HTTP/1.1 {status} {phrase}",
        "content-type: application/json; charset=UTF-8",
        f"content-length: {len(body)}",
        "connection: close",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


def quiet_accept_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Event-loop exception handler: running out of descriptors (or memory) while accepting is
    one warning line, without a traceback (and rate-limited like every warning); asyncio pauses
    accepting for a second by itself. Everything else goes to the default handler."""
    exc = context.get("exception")
    if isinstance(exc, OSError) and exc.errno in OUT_OF_RESOURCES:
        logging.getLogger(__name__).warning(
            "cannot accept connections for a moment: %s", exc.strerror or exc
        )
        return
    loop.default_exception_handler(context)


class _LingeringTransport:
    """The connection's transport as uvicorn sees it: ``close`` lingers while the client may
    still be sending (see the module docstring); everything else goes to the real transport."""

    def __init__(
        self, transport: asyncio.Transport, protocol: GuardedH11Protocol, budget: list[int]
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._budget = budget  # one shared counter: connections lingering now
        self.lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        if self.lingering or self._transport.is_closing():
            return
        if self._protocol.client_may_be_sending() and self._budget[0] < MAX_LINGERING:
            self._linger()
        else:
            self.abort()

    def _linger(self) -> None:
        """Stop writing once the answer is out, drop what still arrives, close a bit later."""
        self.lingering = True
        self._budget[0] += 1
        if self._transport.can_write_eof():
            self._transport.write_eof()
        self._transport.resume_reading()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self._end_lingering)

    def _end_lingering(self) -> None:
        self._budget[0] -= 1
        self._transport.abort()  # whatever the client has not read by now is dropped

    def abort(self) -> None:
        """Close once what is written has gone out."""
        self.lingering = True
        self._transport.close()

    def drop(self) -> None:
        """Close now, dropping answers the client never read (a slow reader)."""
        self.lingering = True
        self._transport.abort()


class HeadBoundConnection(h11.Connection):
    """h11's server connection, with the bound on a request head made exact.

    h11 measures only what it still holds unparsed (``max_incomplete_event_size``), so a head
    that arrives whole in one read is never measured, and whether a large head passed depended
    on how the bytes were cut. Here a request whose head took more than that many bytes of the
    buffer (request line, headers and the blank line after them) is refused too, and
    ``head_too_large`` tells the protocol which refusal it is answering. The extra work on an
    ordinary request is one length and one comparison per event.
    """

    head_too_large = False

    def next_event(self) -> Any:
        held = len(self._receive_buffer)
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            # h11 hints 431 only when it holds more than the bound without a complete event.
            self.head_too_large = exc.error_status_hint == 431
            raise
        limit = self._max_incomplete_event_size
        if held > limit and type(event) is h11.Request:
            if held - len(self._receive_buffer) > limit:
                self.head_too_large = True
                self._process_error(self.their_role)  # h11 would take nothing more from it
                raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        return event


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with deadlines, a connection cap and lingering close.

    Connections made with equal ``limits`` in one process share one table of connections
    waiting for their request headers (oldest first) and one count of lingering ones.
    """

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = HeadBoundConnection(h11.SERVER, limits.max_header_bytes)
        shared = _shared(limits)
        self.limits = limits
        self.cap = shared.cap
        self.waiting = shared.waiting
        self.lingering = shared.lingering
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_for = ""
        self._stalled: asyncio.TimerHandle | None = None
        self._since = 0.0  # when the current wait for a request began (for the access log)
        self._served = False
        self._in_request = False
        self._lost = False
        self._guard: _LingeringTransport | None = None

    # -- the connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._since = time.perf_counter()
        self._guard = _LingeringTransport(transport, self, self.lingering)
        super().connection_made(self._guard)  # type: ignore[arg-type]
        if len(self.connections) > self.cap and not self._displace_oldest_waiting():
            self._refuse_busy()
            return
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._disarm()
        self._writing_resumed()
        self.waiting.pop(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._guard is not None and self._guard.lingering:
            return  # the answer is out; whatever else the client sends is dropped
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        unread_body = self.conn.their_state is h11.SEND_BODY
        self._in_request = False
        self._served = True
        if not self.transport.is_closing():
            self._await_headers()
        super().on_response_complete()
        if unread_body and not self.transport.is_closing():
            # Answered before the body was read (401, 404, 413 ...): the rest of the body is not
            # worth reading, and the connection cannot carry another request before it.
            self.transport.close()
        else:
            self._follow()

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP: 400 in the envelope, then close. A request head over the size limit,
        whether h11 found it incomplete or ``HeadBoundConnection`` found it whole: 431, as the
        traffic proxy answers."""
        assert self._guard is not None
        limit = self.limits.max_header_bytes
        if getattr(self.conn, "head_too_large", False):
            self._refuse(
                431, "Request Header Fields Too Large", "requestHeadersTooLarge",
                f"The request line and headers are longer than the limit of {limit} bytes",
            )  # fmt: skip
            return
        message = f"{msg} The request line and headers must be well-formed HTTP/1.1."
        self._refuse(400, "Bad Request", "badRequest", message)

    def pause_writing(self) -> None:
        """The transport's buffer is full: the client has stopped reading our answers."""
        super().pause_writing()
        if self._stalled is None and not self._lost:
            self._stalled = self.loop.call_later(self.limits.write_timeout, self._reader_too_slow)

    def resume_writing(self) -> None:
        self._writing_resumed()
        super().resume_writing()

    # -- deadlines ---------------------------------------------------------------------------

    def _writing_resumed(self) -> None:
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _reader_too_slow(self) -> None:
        self._stalled = None
        if self._lost or self._guard is None:
            return
        logging.getLogger(__name__).warning(
            "dropped a connection that left its answers unread for %g seconds",
            self.limits.write_timeout,
        )
        self._guard.drop()  # the stalled handler sees a client that went away

    def client_may_be_sending(self) -> bool:
        """Whether closing now could reset a client in the middle of sending: it is sending a
        body, or part of a request (or a malformed one) has arrived."""
        if self._lost:
            return False
        state = self.conn.their_state
        return state is h11.SEND_BODY or (
            state in (h11.IDLE, h11.ERROR) and bool(self.conn.trailing_data[0])
        )

    def _await_headers(self) -> None:
        self._since = time.perf_counter()
        self.waiting[self] = None
        self.waiting.move_to_end(self)
        # The header deadline is lazy: a header timer still pending from an earlier request
        # fires early and is re-armed then for what is left, so a keep-alive connection pays
        # for a timer about once per ``header_timeout``, not once per request.
        if self._deadline is None or self._deadline_for != "headers":
            self._arm(self.limits.header_timeout, self._header_deadline)

    def _follow(self) -> None:
        """Move the deadline along with the request: headers, then body, then none."""
        if self._lost or self._in_request or self.conn.their_state is h11.IDLE:
            return
        self.waiting.pop(self, None)
        if self.conn.their_state is h11.SEND_BODY:
            if self._deadline is None or self._deadline_for != "body":
                self._arm(self.limits.body_timeout, self._body_too_slow)
            return
        self._in_request = True
        if self._deadline_for == "body":
            self._disarm()  # a pending header timer is left to lapse or be reused

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline_for = "body" if callback == self._body_too_slow else "headers"
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _header_deadline(self) -> None:
        """The header timer fired: act if this wait for headers has lasted ``header_timeout``;
        re-arm for the rest if the wait began after the timer was set; lapse when the
        connection is busy with a request (its next wait arms a timer again)."""
        self._deadline = None
        if self._lost or self not in self.waiting:
            return
        left = self._since + self.limits.header_timeout - time.perf_counter()
        if left > 0:
            self._arm(left, self._header_deadline)
            return
        self._headers_too_slow()

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self._lost or self.conn.their_state is not h11.IDLE or self.cycle_busy():
            return
        self.waiting.pop(self, None)
        if self._served and not self.conn.trailing_data[0]:
            # An idle kept-alive connection: nothing was asked, so nothing is answered, and an
            # earlier answer the client has still not read is dropped with the connection.
            assert self._guard is not None
            self._guard.drop()
            return
        seconds = self.limits.header_timeout
        self._refuse(
            408, "Request Timeout", "requestTimeout",
            f"The request headers did not arrive within {seconds:g} seconds",
        )  # fmt: skip

    def _body_too_slow(self) -> None:
        self._deadline = None
        if self._lost or self.conn.their_state is not h11.SEND_BODY:
            return
        message = f"The request body did not arrive within {self.limits.body_timeout:g} seconds"
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            # The handler waiting for the body sees a client that went away; the answer is
            # written here instead.
            cycle.disconnected = True
            cycle.message_event.set()
            body = error_body(408, "requestTimeout", message)
            headers = [
                (b"content-type", b"application/json; charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            cast(dict[str, Any], cycle.scope)[REFUSED_KEY] = (408, len(body))  # logged as such
            try:
                answer = h11.Response(status_code=408, headers=headers, reason=b"Request Timeout")
                data = self.conn.send(answer)
                data = (data or b"") + (self.conn.send(h11.Data(data=body)) or b"")
                data += self.conn.send(h11.EndOfMessage()) or b""
            except h11.LocalProtocolError:
                data = b""
            self._close_with(data)
        else:
            assert self._guard is not None
            self._guard.abort()

    def cycle_busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    # -- the cap -----------------------------------------------------------------------------

    def _displace_oldest_waiting(self) -> bool:
        for victim in self.waiting:
            if victim is not self:
                self.waiting.pop(victim)
                victim._refuse_busy()
                return True
        return False

    def _refuse_busy(self) -> None:
        self._disarm()
        self.waiting.pop(self, None)
        seconds = self.limits.retry_after_seconds
        self._refuse(
            503, "Service Unavailable", "backendError",
            "The server is at its connection limit; retry later",
            (f"retry-after: {seconds}",),
        )  # fmt: skip

    def _refuse(
        self, status: int, phrase: str, reason: str, message: str, extra: tuple[str, ...] = ()
    ) -> None:
        """Answer ``status`` with no request to answer (or none read yet), log it, and close."""
        body = error_body(status, reason, message)
        self._close_with(raw_answer(status, phrase, body, extra))
        scope = {"method": None, "path": None, "client": self.client}
        outcome = {"status": status, "bytes": len(body)}
        log_line(logging.getLogger(ACCESS_LOGGER), access_line(scope, outcome, self._since))

    def _close_with(self, data: bytes) -> None:
        assert self._guard is not None
        if data:
            self._guard.write(data)
        self._guard.close()


@dataclass
class _Shared:
    cap: int
    waiting: OrderedDict[GuardedH11Protocol, None] = field(default_factory=OrderedDict)
    lingering: list[int] = field(default_factory=lambda: [0])


_SHARED: dict[ConnectionLimits, _Shared] = {}


def _shared(limits: ConnectionLimits) -> _Shared:
    """This process's state for ``limits``, made on first use (so it is never pickled along
    with the protocol factory when a server starts worker processes)."""
    if limits not in _SHARED:
        _SHARED[limits] = _Shared(cap=connection_cap(limits.max_connections))
    return _SHARED[limits]


def guarded_protocol(limits: ConnectionLimits) -> Callable[..., GuardedH11Protocol]:
    """The protocol factory to give uvicorn (``Config(http=...)``): picklable, module-level."""
    return functools.partial(GuardedH11Protocol, limits=limits)

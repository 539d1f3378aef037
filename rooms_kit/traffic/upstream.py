"""The proxy's upstream side: keep-alive HTTP/1.1 connections whose answers httptools parses.

Profiling showed HTTP/1.1 parsing and writing in pure Python (h11, then uvicorn's h11 protocol)
costing more CPU per exchange than the upstream server itself. Here each connection is an
``asyncio.Protocol`` fed straight by the event loop and parsed by httptools (llhttp, in C); the
answer is handed, as it arrives, to a ``Listener`` (the exchange in ``rooms_kit.traffic.proxy``),
with no task, stream or coroutine per exchange.

One request per connection at a time; idle connections are kept for reuse (at most ``MAX_IDLE``).
The answer's head is bounded here (``MAX_HEAD_BYTES``); time and body size are the listener's to
bound, which it does by calling ``abort``. A connection that failed, was aborted or answered a
``HEAD`` is closed, never reused. When a reused connection turns out closed by the server before
any byte of the answer, the listener hears ``stale=True`` and may send once more on a new one.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Protocol

import httptools

MAX_IDLE = 64
MAX_HEAD_BYTES = 64 * 1024
FRAMING = frozenset({b"content-length", b"transfer-encoding"})
FRAMING_LENGTHS = frozenset(len(name) for name in FRAMING)


class UpstreamError(Exception):
    """The upstream broke HTTP/1.1 or closed the connection too early."""


class Listener(Protocol):
    """What an answer is handed to, in this order: ``head``, ``chunk``s, then ``end`` or
    ``error``; ``flush`` after each batch of bytes the upstream sent."""

    def head(self, status: int, headers: list[tuple[bytes, bytes]], sized: bool) -> None:
        """``sized``: the body's length is known from the head (content-length, or none)."""

    def chunk(self, data: bytes) -> None: ...

    def end(self) -> None: ...

    def error(self, problem: UpstreamError, stale: bool) -> None: ...

    def flush(self) -> None: ...


class Connection(asyncio.Protocol):
    """One connection to the upstream; ``send`` one request, the answer goes to the listener."""

    def __init__(self, pool: Upstream) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.listener: Listener | None = None
        self.reused = False
        self.closed = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._framing: set[bytes] = set()  # content-length, transfer-encoding: which came
        self._head_bytes = 0
        self._received = False
        self._head_only = False
        self._head_seen = False
        self._framed = False
        self._informational = False

    # -- driven by the exchange ----------------------------------------------------------------

    def send(self, listener: Listener, data: bytes, *, head_only: bool = False) -> None:
        assert self.transport is not None
        self.listener = listener
        self._headers = []
        self._framing = set()
        self._head_bytes = 0
        self._received = False
        self._head_only = head_only
        self._head_seen = False
        self.transport.write(data)

    def abort(self) -> None:
        """Drop the connection now (the answer broke a bound, or nobody wants it any more)."""
        self.listener = None
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        listener = self.listener
        if listener is None:
            self.abort()  # bytes nobody asked for: the connection cannot be trusted
            return
        self._received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamError("the upstream switched protocols"))
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc.__context__, UpstreamError) else None
            self._fail(cause or UpstreamError(self._broken()))
        if self.listener is listener or self.listener is None:
            listener.flush()

    def _broken(self) -> str:
        """What broke HTTP/1.1, in the kit's words (the parser's own are about its internals)."""
        if not self._head_seen:
            return "the answer breaks HTTP/1.1: its status line or headers cannot be parsed"
        return "the answer breaks HTTP/1.1: its body is not framed as its headers say"

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        listener, self.listener = self.listener, None
        if listener is None:
            return
        if self._head_seen and not self._framed:  # the body ran until the close: complete
            listener.end()
            return
        stale = self.reused and not self._received
        where = "mid-answer" if self._received else "before answering"
        listener.error(UpstreamError(f"the upstream closed the connection {where}"), stale)

    # -- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.listener is None:  # an answer after the answer: the connection cannot be trusted
            raise UpstreamError("the upstream sent an answer nobody asked for")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES:
            raise UpstreamError(f"the answer's head is larger than {MAX_HEAD_BYTES} bytes")
        self._headers.append((name, value))
        if len(name) in FRAMING_LENGTHS and name.lower() in FRAMING:
            self._framing.add(name.lower())

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 100:  # "000" has its three digits, yet is no status (and "0" is no HTTP)
            raise UpstreamError(f"the answer breaks HTTP/1.1: status {status:03d} is below 100")
        if 100 <= status < 200:
            self._informational = True  # 100 Continue and the like: not the answer
            self._headers = []
            self._framing = set()
            return
        listener = self.listener
        if listener is None:
            return
        self._head_seen = True
        framing, self._framing = self._framing, set()
        sized = status in {204, 304} or self._head_only or b"content-length" in framing
        self._framed = sized or b"transfer-encoding" in framing
        listener.head(status, self._headers, sized)
        if self._head_only and self.listener is listener:  # the answer to a HEAD has no body
            self.listener = None
            listener.end()
            self.abort()

    def on_body(self, body: bytes) -> None:
        if self.listener is not None and not self._informational:
            self.listener.chunk(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        listener, self.listener = self.listener, None
        if listener is None:
            return
        if self.parser.should_keep_alive() and not self.closed:
            self.pool.release(self)
        else:
            self.abort()
        listener.end()

    def _fail(self, problem: UpstreamError) -> None:
        listener = self.listener
        self.abort()
        if listener is not None:
            listener.error(problem, False)


class Upstream:
    """Connections to one ``scheme://host:port``: ``take`` an idle one or ``connect`` anew."""

    def __init__(self, scheme: str, host: str, port: int, host_header: bytes) -> None:
        self.host = host
        self.port = port
        self.host_header = host_header
        self.ssl = ssl.create_default_context() if scheme == "https" else None
        self._idle: list[Connection] = []

    def take(self) -> Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and connection.transport is not None:
                if not connection.transport.is_closing():
                    connection.reused = True
                    return connection
            connection.abort()
        return None

    async def connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(
            lambda: Connection(self), self.host, self.port, ssl=self.ssl
        )
        return protocol

    def release(self, connection: Connection) -> None:
        if len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.abort()

    def forget(self, connection: Connection) -> None:
        if connection in self._idle:
            self._idle.remove(connection)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.abort()

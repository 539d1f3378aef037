"""A lean HTTP/1.1 client for the proxy's upstream side: h11 over asyncio streams, keep-alive.

Profiling the proxy showed httpx's async stack (connection pool bookkeeping, URL objects, cookie
extraction, anyio wrappers) costing more CPU per exchange than everything else together; a proxy
needs none of it. This client sends one request per connection at a time, keeps idle connections
for reuse (at most ``MAX_IDLE``), bounds the response head (``MAX_HEAD_BYTES``) and leaves time and
body-size bounds to the caller. Any failure is an ``UpstreamError`` (or ``OSError``); a connection
that failed or was not read to its end is closed, never reused. A pooled connection that the
server closed while idle is noticed before anything was received, and the request is sent once
more on a new connection.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import h11

MAX_IDLE = 64
MAX_HEAD_BYTES = 64 * 1024
READ_BYTES = 65536


class UpstreamError(Exception):
    """The upstream broke HTTP/1.1 or closed the connection too early."""


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection

    def close(self) -> None:
        self.writer.close()


class Response:
    """Status and raw headers at once; the body through ``chunks``; ``close`` in every case."""

    def __init__(self, upstream: Upstream, connection: _Connection, event: h11.Response) -> None:
        self._upstream = upstream
        self._connection: _Connection | None = connection
        self.status = event.status_code
        self.headers: list[tuple[bytes, bytes]] = list(event.headers.raw_items())
        self._done = False

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    async def chunks(self) -> AsyncIterator[bytes]:
        connection = self._connection
        assert connection is not None
        while True:
            event = await _next_event(connection)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._done = True
                return
            else:
                raise UpstreamError(f"unexpected {type(event).__name__} in the body")

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._done and connection.h11.our_state is h11.DONE:
            try:
                connection.h11.start_next_cycle()
            except h11.LocalProtocolError:
                connection.close()
                return
            self._upstream.release(connection)
        else:
            connection.close()


async def _next_event(connection: _Connection) -> object:
    while True:
        try:
            event = connection.h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise UpstreamError(f"the answer breaks HTTP/1.1: {exc}") from None
        if event is not h11.NEED_DATA:
            if isinstance(event, h11.ConnectionClosed):
                raise UpstreamError("the upstream closed the connection mid-answer")
            return event
        data = await connection.reader.read(READ_BYTES)
        connection.h11.receive_data(data)


class Upstream:
    """Connections to one ``scheme://host:port``; ``send`` returns once the head has arrived."""

    def __init__(self, scheme: str, host: str, port: int, host_header: bytes) -> None:
        self.host = host
        self.port = port
        self.host_header = host_header
        self.ssl = ssl.create_default_context() if scheme == "https" else None
        self._idle: list[_Connection] = []

    def release(self, connection: _Connection) -> None:
        if len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(
            self.host, self.port, ssl=self.ssl, limit=READ_BYTES
        )
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(
            reader, writer, h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        )

    async def send(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Response:
        fields = [(b"host", self.host_header)]
        fields += [(k, v) for k, v in headers if k.lower() not in {b"host", b"content-length"}]
        if body or method not in {b"GET", b"HEAD", b"DELETE", b"OPTIONS"}:
            fields.append((b"content-length", str(len(body)).encode()))
        while self._idle:
            connection = self._idle.pop()
            if connection.reader.at_eof() or connection.writer.is_closing():
                connection.close()
                continue
            try:
                return await self._exchange(connection, method, target, fields, body)
            except _Stale:
                continue  # closed by the server while idle: try another connection
        return await self._exchange(await self._connect(), method, target, fields, body, fresh=True)

    async def _exchange(
        self,
        connection: _Connection,
        method: bytes,
        target: bytes,
        fields: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        fresh: bool = False,
    ) -> Response:
        try:
            data = connection.h11.send(h11.Request(method=method, target=target, headers=fields))
            if body:
                data = (data or b"") + (connection.h11.send(h11.Data(data=body)) or b"")
            data = (data or b"") + (connection.h11.send(h11.EndOfMessage()) or b"")
            connection.writer.write(data)
            await connection.writer.drain()
            while True:
                try:
                    event = await _next_event(connection)
                except (UpstreamError, OSError):
                    if not fresh and connection.h11.their_state is h11.IDLE:
                        raise _Stale from None
                    raise
                if isinstance(event, h11.Response):
                    return Response(self, connection, event)
                if not isinstance(event, h11.InformationalResponse):
                    raise UpstreamError(f"unexpected {type(event).__name__} before the answer")
        except h11.LocalProtocolError as exc:
            connection.close()
            raise UpstreamError(f"cannot send the request: {exc}") from None
        except (OSError, UpstreamError, asyncio.CancelledError):
            connection.close()
            raise
        except _Stale:
            connection.close()
            raise


class _Stale(Exception):
    """A reused connection turned out closed before any byte of the answer."""

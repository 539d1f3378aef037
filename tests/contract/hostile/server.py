"""A real HTTP server on 127.0.0.1 that serves the reference app and misbehaves on purpose.

ASGI cannot produce a broken status line, a reset in the middle of a body or a header block that
never ends, so the hostile variants speak raw HTTP/1.1 over asyncio sockets. Requests are parsed
here; the ones the behaviour does not claim go to an in-process reference app (a ``Rewriter`` of
the broken-variant catalogue, so paging defects can ride along) and travel back untouched.

The server runs its own event loop on a thread and stops by closing its socket and cancelling
its connection tasks (a hanging answer included).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from tests.contract.broken_variants.rewriting import Answer, Call, Rewriter

# A behaviour gets the request, the writer of the connection and the upstream app; it answers
# (or not) and returns whether the connection may carry another request.
Misbehave = Callable[[Call, asyncio.StreamWriter, Rewriter], Awaitable[bool]]
MAX_REQUEST_HEAD = 64 * 1024
MAX_REQUEST_BODY = 1024 * 1024


def status_line(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Odd"
    return f"HTTP/1.1 {status} {reason}\r\n".encode()


def encode_answer(answer: Answer) -> bytes:
    headers = {k.lower(): v for k, v in answer.headers.items()}
    headers["content-length"] = str(len(answer.body))
    head = status_line(answer.status) + b"".join(
        f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items()
    )
    return head + b"\r\n" + answer.body


async def _read_request(reader: asyncio.StreamReader) -> Call | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = min(int(headers.get("content-length", "0") or 0), MAX_REQUEST_BODY)
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    return Call(method, parts.path, dict(parse_qsl(parts.query)), headers, body)


class HostileServer:
    """``with HostileServer(misbehave, on="get") as url:`` serves the reference app at ``url``;
    requests for the operation ``on`` (``None``: every request) get ``misbehave``."""

    def __init__(
        self, misbehave: Misbehave | None, on: str | None, upstream: Rewriter | None = None
    ) -> None:
        self.misbehave = misbehave
        self.on = on
        self.upstream = upstream or Rewriter()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    def __enter__(self) -> str:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        future.result(timeout=10)
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self.server = await asyncio.start_server(
            self._connection, "127.0.0.1", 0, limit=MAX_REQUEST_HEAD
        )
        self.port = self.server.sockets[0].getsockname()[1]

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
        self.upstream.close()

    async def _stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()
        await self.loop.shutdown_default_executor()  # its thread looked up 127.0.0.1

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            while True:
                call = await _read_request(reader)
                if call is None:
                    break
                if self.misbehave is not None and self.on in (None, call.operation):
                    if not await self.misbehave(call, writer, self.upstream):
                        break
                    continue
                writer.write(encode_answer(await self.upstream.rewritten(call)))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.tasks.discard(task)
            writer.transport.abort()

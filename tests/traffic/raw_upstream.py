"""An upstream that writes raw bytes, for what an ASGI server would never send.

``GET /games/v1/rooms/<name>`` picks the behaviour; any other name answers a small room with
``content-length``. Runs on 127.0.0.1 (a free port) in a thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
from typing import Any

ROOM = b'{"kind": "games#room", "roomId": "%s", "status": "ROOM_ACTIVE", "roomStatusVersion": 1}'
START_LIMIT = 20.0


def _sized(body: bytes, *extra: bytes) -> bytes:
    head = [
        b"HTTP/1.1 200 OK",
        b"content-type: application/json",
        b"content-length: %d" % len(body),
    ]
    return b"\r\n".join([*head, *extra]) + b"\r\n\r\n" + body


async def _answer(name: bytes, served: int, writer: asyncio.StreamWriter) -> bool:
    """Write the behaviour's answer; False when the connection is to end now."""
    room = ROOM % name
    if name == b"garbage":
        writer.write(b"THIS IS NOT HTTP\r\n\r\n")
        return False
    if name == b"bighead":  # a head far over the 64 KiB the proxy reads
        writer.write(_sized(room, b"x-pad: " + b"p" * 70_000))
        return True
    if name == b"status000":  # three digits, no status: the proxy wrote "HTTP/1.1 0" to clients
        writer.write(_sized(room).replace(b"200 OK", b"000 None", 1))
        return False
    if name == b"twice":  # compressed twice, said in two headers (the proxy read only the last)
        packed = gzip.compress(gzip.compress(room))
        writer.write(_sized(packed, b"content-encoding: gzip", b"content-encoding: gzip"))
        return True
    if name == b"unsized":  # no length, no chunks: the body runs until the close
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n" + room)
        return False
    if name == b"interim":  # a 100 Continue before the answer
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + _sized(room))
        return True
    if name == b"oneshot" and served > 1:  # a kept-alive connection dropped when used again
        return False
    if name == b"unasked":  # the answer, then the start of one nobody asked for
        writer.write(_sized(room) + b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab")
        return True
    writer.write(_sized(room))
    return True


async def _connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    served = 0
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            served += 1
            path = head.split(b" ", 2)[1]
            if not await _answer(path.rsplit(b"/", 1)[-1], served, writer):
                break
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


class RawUpstream:
    def __init__(self) -> None:
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.thread.start()
        assert self._ready.wait(START_LIMIT), "the raw upstream did not start"

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(_connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RawUpstream:
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(START_LIMIT)

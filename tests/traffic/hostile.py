"""Hostile upstreams: one ASGI app whose room ids pick a misbehaviour (GET /games/v1/rooms/<name>).

``/healthz`` always answers 200, so a test can show the proxy is still healthy afterwards.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
from typing import Any

ROOM = b'{"kind": "games#room", "roomId": "%s", "status": "ROOM_ACTIVE", "roomStatusVersion": 1}'


async def _start(send: Any, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def _body(send: Any, body: bytes, more: bool = False) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": more})


JSON = (b"content-type", b"application/json")


@functools.cache
def _bomb() -> bytes:
    return gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)


async def hostile(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    name = scope["path"].rsplit("/", 1)[-1]
    if scope["path"] == "/healthz":
        await _start(send, 200, [(b"content-type", b"text/plain")])
        await _body(send, b"ok")
    elif name == "hang":
        await asyncio.sleep(3600)
    elif name == "drip":  # headers at once, then a byte now and then for far too long
        await _start(send, 200, [JSON])
        for _ in range(600):
            await _body(send, b" ", more=True)
            await asyncio.sleep(0.05)
        await _body(send, b"")
    elif name == "huge":  # a chunked body of 256 MiB (the proxy stops reading long before)
        await _start(send, 200, [JSON])
        chunk = b" " * 65536
        for _ in range(4096):
            await _body(send, chunk, more=True)
            await asyncio.sleep(0)
        await _body(send, b"")
    elif name == "bomb":  # 64 MiB of spaces in a small gzip member
        packed = _bomb()
        headers = [
            JSON,
            (b"content-encoding", b"gzip"),
            (b"content-length", str(len(packed)).encode()),
        ]
        await _start(send, 200, headers)
        await _body(send, packed)
    elif name == "deep":  # JSON 1,000 levels deep: replay's comparisons recursed into it
        await _start(send, 200, [JSON])
        await _body(send, b"[" * 1000 + b"]" * 1000)
    elif name == "large":  # a good room, then 16 MiB of JSON whitespace, all sent at once
        body = ROOM % b"large" + b" " * (16 * 1024 * 1024)
        await _start(send, 200, [JSON, (b"content-length", str(len(body)).encode())])
        await _body(send, body)
    elif name == "html":
        await _start(send, 200, [(b"content-type", b"text/html")])
        await _body(send, b"<html><body>Welcome</body></html>")
    elif name == "short":  # promises more than it sends, then hangs up
        await _start(send, 200, [JSON, (b"content-length", b"1000")])
        await _body(send, b'{"kind": ', more=True)
        raise ConnectionResetError("the upstream hangs up")
    else:
        await _start(send, 200, [JSON])
        await _body(send, ROOM % name.encode())

"""The forwarding ASGI application: every request goes upstream unchanged, every answer comes back
unchanged (or, in strict mode, as a 502 when it breaks the contract), within the limits.

The request body is read whole (it is small and bounded); the answer is streamed back to the client
as it arrives while a copy, capped at the limit, is kept for the checks. In strict mode the answer
is held until it has been judged. Hop-by-hop headers are dropped in both directions, nothing is
added. What the proxy itself answers (body too large, upstream unreachable or too slow) carries
Google's error envelope.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from rooms_kit.contract.bounded import BodyReader, TransportFailure
from rooms_kit.contract.failures import ContractFailure
from rooms_kit.traffic.aliases import Aliases
from rooms_kit.traffic.checking import (
    COMPLETE_RESPONSE,
    NO_ANSWER,
    RESPONDS_IN_TIME,
    RESPONSE_SIZE,
    Limits,
    as_failure,
    body_reader,
    headers_problem,
)
from rooms_kit.traffic.seen import Seen
from rooms_kit.traffic.upstream import Response, Upstream, UpstreamError

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}

Inspector = Callable[[Seen], list[ContractFailure]]
Scope = dict[str, Any]
Message = dict[str, Any]


def envelope(status: int, reason: str, message: str, details: list[str] | None = None) -> bytes:
    errors = [
        {"domain": "rooms-kit.proxy", "reason": reason, "message": text}
        for text in (details or [message])
    ]
    body = {"error": {"code": status, "message": message, "errors": errors}}
    return json.dumps(body, ensure_ascii=False).encode()


class ClientGone(Exception):
    """The client disconnected before its request was complete."""


class Proxy:
    """ASGI app forwarding to ``upstream``; ``inspect`` judges each exchange (and prints, records)."""

    def __init__(
        self,
        upstream: str,
        inspect: Inspector,
        aliases: Aliases,
        *,
        strict: bool = False,
        limits: Limits | None = None,
    ) -> None:
        self.upstream = httpx.URL(upstream.rstrip("/"))
        self.inspect = inspect
        self.aliases = aliases
        self.strict = strict
        self.limits = limits or Limits()
        self.count = 0
        self._prefix = self.upstream.raw_path.split(b"?")[0].rstrip(b"/")
        self._upstream: Upstream | None = None

    def upstream_client(self) -> Upstream:
        if self._upstream is None:
            url = self.upstream
            port = url.port or (443 if url.scheme == "https" else 80)
            self._upstream = Upstream(url.scheme, url.host, port, url.netloc)
        return self._upstream

    async def aclose(self) -> None:
        if self._upstream is not None:
            await self._upstream.aclose()
            self._upstream = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets are not part of the API; the server closes them
        self.count += 1
        seen = self._seen(scope)
        try:
            async with asyncio.timeout(self.limits.seconds):
                body = await self._read_body(receive)
        except (ClientGone, TimeoutError):
            return  # nothing reached the upstream; nothing to judge
        if body is None:
            text = f"the request body is larger than {self.limits.max_request_bytes} bytes"
            await _answer(send, 413, envelope(413, "requestTooLarge", text))
            return
        seen.request_body = body
        await self._forward(scope, seen, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _seen(self, scope: Scope) -> Seen:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        query = scope.get("query_string", b"").decode("latin-1")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        return Seen(
            number=self.count,
            started=time.time(),
            method=scope["method"],
            path=raw_path.decode("latin-1"),
            query=self.aliases.query(query),
            player=self.aliases.caller(headers, query),
            request_headers=self.aliases.headers(headers),
            request_body=b"",
        )

    async def _read_body(self, receive: Any) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        too_large = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_request_bytes:
                too_large = True  # keep draining so the client can read the 413
            else:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return None if too_large else b"".join(chunks)

    async def _forward(self, scope: Scope, seen: Seen, send: Any) -> None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        target = self._prefix + raw_path + (b"?" + query if query else b"")
        headers = [
            (k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        begun = time.monotonic()
        deadline = asyncio.get_running_loop().time() + self.limits.seconds
        try:
            async with asyncio.timeout_at(deadline):
                response = await self.upstream_client().send(
                    scope["method"].encode(), target, headers, seen.request_body
                )
        except TimeoutError:
            await self._fail(
                seen,
                send,
                begun,
                504,
                RESPONDS_IN_TIME,
                "no answer in time",
                f"the upstream did not answer within {self.limits.seconds:g} s",
            )
            return
        except (OSError, UpstreamError) as exc:
            await self._fail(
                seen,
                send,
                begun,
                502,
                NO_ANSWER,
                "no answer",
                f"the upstream dropped the request: {type(exc).__name__}: {exc}",
            )
            return
        try:
            await self._relay(response, seen, send, begun, deadline)
        finally:
            await response.close()

    async def _fail(
        self, seen: Seen, send: Any, begun: float, status: int, check: str, title: str, text: str
    ) -> None:
        seen.latency_ms = (time.monotonic() - begun) * 1000
        seen.problem = ContractFailure(check, title, text)
        self.inspect(seen)
        await _answer(send, status, envelope(status, "upstreamFailed", f"rooms-kit proxy: {text}"))

    async def _relay(
        self, response: Response, seen: Seen, send: Any, begun: float, deadline: float
    ) -> None:
        raw_headers = [
            (k, v) for k, v in response.headers if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        seen.status = response.status
        seen.response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        seen.problem = headers_problem(seen.response_headers, self.limits)
        stream_now = not self.strict
        if stream_now:
            await send(
                {"type": "http.response.start", "status": seen.status, "headers": raw_headers}
            )
        kept: list[bytes] = []  # the raw bytes, for strict mode only
        coding = response.header(b"content-encoding")
        cut = True  # until the last byte has been passed on
        try:
            reader: BodyReader | None = body_reader(
                self.limits,
                coding.decode("latin-1") if coding else None,
                started=begun,
                status=seen.status,
            )
        except TransportFailure as failure:  # an encoding the checks cannot read: forward only
            seen.problem, reader = as_failure(failure), None
        try:
            async with asyncio.timeout_at(deadline):
                reader = await self._pump(
                    response, seen, send if stream_now else None, reader, kept
                )
            cut = False
            if reader is not None:
                seen.response_body = reader.finish()
        except TransportFailure as failure:
            seen.problem = as_failure(failure)
        except TimeoutError:
            seen.problem = ContractFailure(
                RESPONDS_IN_TIME,
                "answer not complete in time",
                f"the body did not arrive within {self.limits.seconds:g} s",
            )
        except (OSError, UpstreamError) as exc:
            seen.problem = ContractFailure(
                COMPLETE_RESPONSE, "answer cut short", f"{type(exc).__name__}: {exc}"
            )
        seen.latency_ms = (time.monotonic() - begun) * 1000
        if stream_now:
            if not cut:  # a cut answer is left unfinished: the server closes the connection
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            self.inspect(seen)
            return
        failures = self.inspect(seen)
        if failures:
            await self._refuse(send, failures)
            return
        await send({"type": "http.response.start", "status": seen.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": b"".join(kept)})

    async def _pump(
        self,
        response: Response,
        seen: Seen,
        send: Any,
        reader: BodyReader | None,
        kept: list[bytes],
    ) -> BodyReader | None:
        """Pass the body on (to ``send``, or into ``kept``) while ``reader`` judges a copy; the
        reader is dropped (the rest forwarded unjudged) when the body cannot be judged."""
        limit = self.limits.max_response_bytes
        wire = 0
        async for chunk in response.chunks():
            wire += len(chunk)
            if wire > limit:
                raise TransportFailure(RESPONSE_SIZE, f"body larger than {limit} bytes on the wire")
            if reader is not None:
                try:
                    reader.feed(chunk)  # bounded: decompressed size and time
                except TransportFailure as failure:
                    if failure.check == RESPONDS_IN_TIME:
                        raise
                    seen.problem, reader = as_failure(failure), None
            if send is not None:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            else:
                kept.append(chunk)
        return reader

    async def _refuse(self, send: Any, failures: list[ContractFailure]) -> None:
        details = [
            f"[{f.check}] {f.title}" + (f": {f.message}" if f.message else "") for f in failures
        ]
        summary = "; ".join(f"[{f.check}] {f.title}" for f in failures)
        text = f"rooms-kit proxy (strict): the upstream answer breaks the contract: {summary}"
        await _answer(send, 502, envelope(502, "contractViolation", text, details))


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""The hostile-server catalogue: one behaviour per way a server can hurt its client, each with
the check that must name it. docs/contract-suite.md lists them with the reasoning.

Every behaviour answers one operation badly (``on``) and serves the rest from the reference app,
so the suite has something to check before and after the trouble.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import zlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tests.contract.broken_variants.rewriting import Answer, Call, Rewriter
from tests.contract.hostile.server import Misbehave, encode_answer, status_line

JSON_HEAD = b"content-type: application/json\r\n"
FOREVER = 3600.0  # a hanging answer waits this long (the server is stopped well before)


async def hang(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Takes the request and never answers."""
    await asyncio.sleep(FOREVER)
    return False


async def slow_drip(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Sends the headers, then one byte of body every 0.2 s, forever."""
    writer.write(status_line(200) + JSON_HEAD + b"content-length: 1000000\r\n\r\n")
    while True:
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.2)


async def huge_body(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Announces and streams a 1 GiB body as fast as the client reads."""
    writer.write(status_line(200) + JSON_HEAD + b"content-length: 1073741824\r\n\r\n[")
    block = b"0," * 32768
    while True:
        writer.write(block)
        await writer.drain()


async def endless_chunked(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """A chunked body whose chunks never end."""
    writer.write(status_line(200) + JSON_HEAD + b"transfer-encoding: chunked\r\n\r\n")
    chunk = b"1,2,3," * 10000
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while True:
        writer.write(frame)
        await writer.drain()


@cache
def bomb(coding: str) -> bytes:
    """128 MiB of spaces (32 times the default cap), compressed to about 128 KiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31 if coding == "gzip" else 15)
    spaces = b" " * (1024 * 1024)
    parts = [packer.compress(spaces) for _ in range(128)]
    return b"".join(parts) + packer.flush()


def compression_bomb(coding: str) -> Misbehave:
    async def answer(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
        body = bomb(coding)
        writer.write(
            status_line(200)
            + JSON_HEAD
            + f"content-encoding: {coding}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        return True

    answer.__doc__ = f"A {coding} body of about 128 KiB that inflates to 128 MiB."
    return answer


async def reset_mid_body(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Sends the headers and part of the body, then resets the connection (RST)."""
    writer.write(status_line(200) + JSON_HEAD + b'content-length: 5000\r\n\r\n{"kind": "games#r')
    await writer.drain()
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return False  # the server aborts the connection: with linger 0 that is a reset


async def short_body(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Announces 500 bytes of body, sends 18 and closes the connection."""
    writer.write(status_line(200) + JSON_HEAD + b'content-length: 500\r\n\r\n{"kind": "games#r')
    await writer.drain()
    writer.close()
    return False


async def redirect_loop(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Answers 302 to the same URL, again and again."""
    writer.write(
        encode_answer(Answer(302, {"location": call.path}, b""))  # back to itself
    )
    await writer.drain()
    return True


async def html_page(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Answers 200 with an HTML page (a login page of some proxy)."""
    page = b"<!DOCTYPE html><html><body><h1>Please sign in</h1></body></html>"
    writer.write(encode_answer(Answer(200, {"content-type": "text/html"}, page)))
    await writer.drain()
    return True


async def deep_nesting(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Answers 200 with JSON nested 100,000 levels deep (a recursive parser would crash)."""
    body = b"[" * 100_000 + b"]" * 100_000
    writer.write(encode_answer(Answer(200, {"content-type": "application/json"}, body)))
    await writer.drain()
    return True


async def invalid_utf8(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Answers with the real body, one byte of it replaced by an invalid UTF-8 byte."""
    answer = await upstream.rewritten(call)
    answer.body = answer.body.replace(b'"', b'"\xff', 1)
    writer.write(encode_answer(answer))
    await writer.drain()
    return True


async def giant_headers(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Answers with 5,000 headers."""
    answer = await upstream.rewritten(call)
    answer.headers.update({f"x-padding-{n}": "x" for n in range(5000)})
    writer.write(encode_answer(answer))
    await writer.drain()
    return True


async def endless_headers(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Sends a status line and then header lines that never end."""
    writer.write(status_line(200))
    line = b"x-more: " + b"y" * 1000 + b"\r\n"
    while True:
        writer.write(line)
        await writer.drain()


async def odd_status(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Answers with status 600 (outside 100-599) and the real body."""
    answer = await upstream.rewritten(call)
    answer.status = 600
    writer.write(encode_answer(answer))
    await writer.drain()
    return True


async def early_hints(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Sends an unasked 103 Early Hints before the real answer."""
    writer.write(status_line(103) + b"link: </style.css>\r\n\r\n")
    writer.write(encode_answer(await upstream.rewritten(call)))
    await writer.drain()
    return True


async def garbage_status_line(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
    """Answers with a line that is not an HTTP status line."""
    writer.write(b"HELLO THERE\r\n\r\n")
    await writer.drain()
    return False


def slow_but_valid(seconds: float) -> Misbehave:
    async def answer(call: Call, writer: asyncio.StreamWriter, upstream: Rewriter) -> bool:
        await asyncio.sleep(seconds)
        writer.write(encode_answer(await upstream.rewritten(call)))
        await writer.drain()
        return True

    answer.__doc__ = f"Answers correctly, {seconds:g} s late."
    return answer


class _ListRewriter(Rewriter):
    """Base of the paging loops: changes list answers only."""

    def page(self, call: Call, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def response(self, call: Call, answer: Answer) -> Answer:
        if call.operation == "list" and answer.status == 200:
            data = answer.json()
            self.page(call, data)
            answer.set_json(data)
        return answer


class SameTokenForever(_ListRewriter):
    """Every page of the list says nextPageToken "again"."""

    def page(self, call: Call, data: dict[str, Any]) -> None:
        data["nextPageToken"] = "again"


@dataclass
class FreshTokenForever(_ListRewriter):
    """Every page of the list gives a new nextPageToken, forever (items repeat)."""

    counter: list[int] = field(default_factory=lambda: [0])

    def request(self, call: Call) -> Call:
        call.query.pop("pageToken", None)  # always serve the first page again
        return call

    def page(self, call: Call, data: dict[str, Any]) -> None:
        self.counter[0] += 1
        data["nextPageToken"] = f"page-{self.counter[0]}"


@dataclass
class FreshItemsForever(_ListRewriter):
    """Every page carries new made-up invitations and a new nextPageToken, forever."""

    counter: list[int] = field(default_factory=lambda: [0])

    def page(self, call: Call, data: dict[str, Any]) -> None:
        self.counter[0] += 1
        number = self.counter[0]
        template = json.loads(json.dumps((data.get("items") or [{}])[0]))
        template.update({"kind": "games#room", "roomId": f"made-up-{number}"})
        data["items"] = [template]
        data["nextPageToken"] = f"page-{number}"


@dataclass(frozen=True)
class Hostile:
    name: str
    caught_by: str  # the check that must name it ("" for the slow but valid server)
    misbehave: Misbehave | None = None
    on: str | None = "get"  # the operation it breaks (None: every request)
    upstream: type[Rewriter] = Rewriter

    @property
    def behaviour(self) -> str:
        source = self.misbehave if self.misbehave is not None else self.upstream
        return (source.__doc__ or "").strip()


CATALOGUE: tuple[Hostile, ...] = (
    Hostile("hang", "responds_in_time", hang),
    Hostile("slow_drip", "responds_in_time", slow_drip),
    Hostile("huge_body", "response_size", huge_body),
    Hostile("endless_chunked", "response_size", endless_chunked),
    Hostile("gzip_bomb", "response_size", compression_bomb("gzip")),
    Hostile("deflate_bomb", "response_size", compression_bomb("deflate")),
    Hostile("reset_mid_body", "complete_response", reset_mid_body),
    Hostile("short_body", "complete_response", short_body),
    Hostile("redirect_loop", "no_redirect", redirect_loop),
    Hostile("html_page", "json_content_type", html_page),
    Hostile("deep_nesting", "json_body", deep_nesting),
    Hostile("invalid_utf8", "json_body", invalid_utf8),
    Hostile("giant_headers", "header_limits", giant_headers),
    Hostile("endless_headers", "header_limits", endless_headers),
    Hostile("odd_status", "valid_status", odd_status),
    Hostile("early_hints", "valid_status", early_hints),
    Hostile("garbage_status_line", "http_protocol", garbage_status_line),
    Hostile("same_token_forever", "paging_complete", upstream=SameTokenForever),
    Hostile("fresh_token_forever", "paging_complete", upstream=FreshTokenForever),
    Hostile("fresh_items_forever", "paging_complete", upstream=FreshItemsForever),
)

"""An ASGI wrapper that lets a broken variant rewrite requests and responses of the reference app.

A variant subclasses ``Rewriter`` and overrides ``request`` (change the path, query, headers or
body before the reference server sees them) and/or ``response`` (change what goes back). It can
also ``ask`` the reference server something on the side (a second request).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rooms_kit.reference_server.app import create_reference_app


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    notes: dict[str, str] = field(default_factory=dict)  # kept from request to response, never sent

    @property
    def operation(self) -> str:
        """create, list, get, join, leave, decline, dismiss, reportstatus (or '' elsewhere)."""
        parts = self.path.removeprefix("/games/v1/rooms").strip("/").split("/")
        if parts == [""]:
            return "list"
        if parts == ["create"]:
            return "create"
        if len(parts) == 1:
            return "get"
        return parts[-1]

    def json(self) -> Any:
        """The parsed body; None when there is none or it is not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()
        self.headers["content-length"] = str(len(self.body))


@dataclass
class Rewriter:
    inner: ASGIApp = field(
        default_factory=lambda: create_reference_app(":memory:", dev_tokens=True)
    )

    def __post_init__(self) -> None:
        """Variants that keep state set it up here."""

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()

    def request(self, call: Call) -> Call:
        return call

    def response(self, call: Call, answer: Answer) -> Answer:
        return answer

    async def ask(self, call: Call) -> Answer:
        """Send ``call`` to the reference server and collect its answer."""
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": call.method,
            "scheme": "http",
            "path": call.path,
            "raw_path": call.path.encode(),
            "root_path": "",
            "query_string": urlencode(call.query).encode(),
            "headers": [(k.encode(), v.encode()) for k, v in call.headers.items()],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": call.body, "more_body": False}

        answer = Answer(500, {}, b"")

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                answer.body += message.get("body", b"")

        await self.inner(scope, receive, send)
        return answer

    async def rewritten(self, call: Call) -> Answer:
        return self.response(call, await self.ask(call))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        call = Call(
            scope["method"],
            scope["path"],
            dict(parse_qsl(scope["query_string"].decode())),
            {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body,
        )
        call = self.request(call)
        if call.body != body:
            call.headers["content-length"] = str(len(call.body))
        answer = await self.rewritten(call)
        answer.headers["content-length"] = str(len(answer.body))
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k.encode(), v.encode()) for k, v in answer.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

"""HTTP for the suite: every call becomes an ``Exchange`` that keeps the request and the response.

A ``Target`` says where the implementation lives: a base URL (real HTTP) or an ASGI application
(in process, for the kit's own fast tests). ``HttpSession`` sends requests with one player's
token and hands every exchange to an observer (the runner applies the response checks there).

``Exchange.curl()`` renders a command that reproduces the request exactly: the token is printed
as it was sent, since only tokens the user passed on the command line are ever sent.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx

from rooms_kit.contract.failures import CannotRun, ContractFailure

T = TypeVar("T")
API_PREFIX = "/games/v1/"
DEFAULT_TIMEOUT = 30.0
BODY_PREVIEW = 4000


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    def curl(self) -> str:
        parts = ["curl", "-sS", "-i", "-X", self.method]
        for name, value in self.headers:
            if name.lower() in {
                "host",
                "content-length",
                "accept-encoding",
                "connection",
                "user-agent",
            }:
                continue
            parts += ["-H", f"{name}: {value}"]
        if self.body is not None:
            parts += ["--data-binary", self.body.decode("utf-8", "replace")]
        parts.append(self.url)
        return " ".join(shlex.quote(part) for part in parts)


@dataclass(frozen=True)
class RecordedResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        """The parsed body; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Exchange:
    """One request and its response, and the operation it was meant for.

    A response with status 0 stands for no answer at all (the connection was dropped).
    """

    operation: str  # e.g. games.rooms.create
    request: RecordedRequest
    response: RecordedResponse

    def curl(self) -> str:
        return self.request.curl()

    def describe(self) -> str:
        """Request, response and reproduction as plain text."""
        lines = [f"request: {self.request.method} {self.request.url}"]
        lines += [f"  {name}: {value}" for name, value in self.request.headers if _shown(name)]
        if self.request.body is not None:
            lines.append("  " + _preview(self.request.body))
        status = self.response.status
        lines.append(f"response: {status}" if status else "response: none (no answer)")
        lines += [f"  {name}: {value}" for name, value in self.response.headers]
        if self.response.body:
            lines.append("  " + _preview(self.response.body))
        lines.append(f"reproduce: {self.curl()}")
        return "\n".join(lines)


def _shown(name: str) -> bool:
    return name.lower() not in {"accept-encoding", "connection", "user-agent", "content-length"}


def _preview(body: bytes) -> str:
    """The body on one line: JSON re-serialised compactly, anything else as text; long ones cut."""
    text = body.decode("utf-8", "replace")
    try:
        text = json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        text = text.replace("\n", "\\n")
    return text if len(text) <= BODY_PREVIEW else text[:BODY_PREVIEW] + " …(cut)"


class _AsgiBridge(httpx.BaseTransport):
    """A synchronous httpx transport that runs an ASGI app on a private event loop thread."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            body = request.read()
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._inner.handle_async_request(copy)
            content = await response.aread()
            stream = httpx.ByteStream(content)
            return httpx.Response(response.status_code, headers=response.headers, stream=stream)

        return self._run(send())

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@dataclass
class Target:
    """Where the implementation under test lives."""

    base_url: str
    app: Any = None  # an ASGI application for in-process runs; then base_url is only a label

    @classmethod
    def url(cls, base_url: str) -> Target:
        return cls(base_url.rstrip("/"))

    @classmethod
    def asgi(cls, app: Any) -> Target:
        return cls("http://in-process", app)

    def client(self) -> httpx.Client:
        transport: httpx.BaseTransport | None = _AsgiBridge(self.app) if self.app else None
        return httpx.Client(
            base_url=self.base_url, transport=transport, timeout=DEFAULT_TIMEOUT, trust_env=False
        )


Observer = Callable[[Exchange], None]


@dataclass
class HttpSession:
    """Sends requests to the target, one shared connection pool, every exchange observed."""

    client: httpx.Client
    observers: list[Observer] = field(default_factory=list)
    answered: bool = False  # once the server has answered, a dropped request is its failure
    last_response: httpx.Response | None = None

    def close(self) -> None:
        self.client.close()

    def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        token: str | None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        """Send one request; ``token`` None sends no ``Authorization`` header at all."""
        all_headers = {"Accept": "application/json"}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        content = raw_body
        if body is not None:
            try:
                content = json.dumps(body, ensure_ascii=False).encode()
            except UnicodeEncodeError:  # lone surrogates: send them escaped
                content = json.dumps(body).encode()
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        url = path
        if query:
            pairs = [(k, _query_value(item)) for k, v in query.items() for item in _as_list(v)]
            url += "?" + urlencode(pairs, encoding="utf-8", errors="surrogatepass")
        request = RecordedRequest(
            method,
            str(self.client.base_url.join(url)),
            tuple((k, v) for k, v in all_headers.items()),
            content,
        )
        try:
            response = self.client.request(method, url, headers=all_headers, content=content)
        except httpx.HTTPError as exc:
            if not self.answered:
                raise CannotRun(f"cannot reach {self.client.base_url}: {exc}") from exc
            silent = Exchange(operation, request, RecordedResponse(0, (), b""))
            raise ContractFailure(
                "not_a_server_error",
                "no answer",
                f"the server dropped the request: {type(exc).__name__}: {exc}",
                exchange=silent,
            ) from exc
        self.answered = True
        self.last_response = response
        request = RecordedRequest(
            method,
            str(response.request.url),
            tuple((k, v) for k, v in all_headers.items()),
            content,
        )
        recorded = RecordedResponse(
            response.status_code, tuple(response.headers.multi_items()), response.content
        )
        exchange = Exchange(operation, request, recorded)
        for observer in self.observers:
            observer(exchange)
        return exchange


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)

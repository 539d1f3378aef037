"""HTTP for the suite: every call becomes an ``Exchange`` that keeps the request and the response.

A ``Target`` says where the implementation lives: a base URL (real HTTP through ``wire``, with
hard time and size bounds) or an ASGI application (in process, for the kit's own fast tests).
``HttpSession`` sends requests with one player's token, within the ``Limits`` and the run's
``Deadline``, and hands every exchange to its observers (the runner applies the response checks
there). A request that breaks a bound raises ``ContractFailure`` under the bound's check name,
with what arrived kept as evidence; the session then refuses further requests of the same unit
(``halt``) so that a hanging server costs one timeout per unit, not one per request.

``Exchange.curl()`` renders a command that reproduces the request; it never shows a token: token
number N (the N-th ``--token``) stands there as the shell variable ``$ROOMS_KIT_TOKEN_N``, and as
``<token N>`` in the request dump of ``Exchange.describe()`` (``secrets.Secrets``).
"""

from __future__ import annotations

import asyncio
import json
import shlex
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

import httpx

from rooms_kit.contract.bounded import (
    KEPT_PARTIAL_BYTES,
    BodyReader,
    Limits,
    TransportFailure,
    check_headers,
    json_problem,
    read_json,
)
from rooms_kit.contract.failures import CannotRun, ContractFailure, Deadline
from rooms_kit.contract.secrets import Secrets
from rooms_kit.contract.wire import DeadlineHit, Unreachable, WireAnswer, WireClient

T = TypeVar("T")
API_PREFIX = "/games/v1/"
ACCEPT_ENCODING = "gzip, deflate"
BODY_PREVIEW = 4000


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    secrets: Secrets = field(default=Secrets(), repr=False, compare=False)
    """The run's tokens: never shown, each as its variable or placeholder instead."""

    def curl(self) -> str:
        """A command that sends the request again; token N is ``$ROOMS_KIT_TOKEN_N``."""
        words = [shlex.quote(part) for part in ("curl", "-sS", "-i", "-X", self.method)]
        for name, value in self.headers:
            if name.lower() in {
                "host",
                "content-length",
                "accept-encoding",
                "connection",
                "user-agent",
            }:
                continue
            word = self.secrets.bearer_word(name, _bearer(name, value))
            words += ["-H", word or self.secrets.shell_word(f"{name}: {value}")]
        if self.body is not None:
            words += [
                "--data-binary",
                self.secrets.shell_word(self.body.decode("utf-8", "replace")),
            ]
        words.append(self.secrets.shell_word(self.url))
        return " ".join(words)

    def header_text(self, name: str, value: str) -> str:
        """A header's value as a request dump shows it (a token as ``<token N>``)."""
        number = self.secrets.number(_bearer(name, value))
        if number is not None:
            return f"Bearer <token {number}>"
        return self.secrets.scrub(value)


def _bearer(name: str, value: str) -> str:
    """The token of an ``Authorization: Bearer`` header, else an empty string."""
    scheme, _, token = value.partition(" ")
    if name.lower() != "authorization" or scheme.lower() != "bearer":
        return ""
    return token


@dataclass(frozen=True)
class RecordedResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    interim: tuple[int, ...] = ()  # 1xx statuses that came before this one
    reader: Callable[[], tuple[Any, bool]] | None = field(default=None, repr=False, compare=False)
    """Reads ``body`` as ``read_json`` does, when another reader of it keeps the result."""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        """The parsed body; raises ``ValueError`` when it is not JSON (or not safe to parse:
        invalid UTF-8, nested deeper than the JSON depth limit)."""
        return self.reading()[0]

    def reading(self) -> tuple[Any, bool]:
        """``bounded.read_json`` of the body (through ``reader`` when there is one)."""
        return self.reader() if self.reader is not None else read_json(self.body)

    def trimmed(self) -> RecordedResponse:
        """The same response with the body cut to what a report keeps."""
        if len(self.body) <= KEPT_PARTIAL_BYTES:
            return self
        return RecordedResponse(
            self.status, self.headers, self.body[:KEPT_PARTIAL_BYTES], self.interim
        )


@dataclass(frozen=True)
class Exchange:
    """One request and its response, and the operation it was meant for.

    A response with status 0 stands for no answer at all (the connection was dropped).
    """

    operation: str  # e.g. games.rooms.create
    request: RecordedRequest
    response: RecordedResponse
    seconds: float = 0.0  # from sending the request to the end of the answer

    def kept(self) -> Exchange:
        """The exchange as evidence: bodies cut to a bounded size."""
        body = self.request.body
        request = self.request
        if body is not None and len(body) > KEPT_PARTIAL_BYTES:
            request = replace(request, body=body[:KEPT_PARTIAL_BYTES])
        return Exchange(self.operation, request, self.response.trimmed(), self.seconds)

    def curl(self) -> str:
        return self.request.curl()

    def describe(self) -> str:
        """Request, response and reproduction as plain text, without a token: token N reads
        ``<token N>`` (``$ROOMS_KIT_TOKEN_N`` in the command), also where a server echoed it."""
        request = self.request
        scrub = request.secrets.scrub
        lines = [f"request: {request.method} {scrub(request.url)}"]
        lines += [
            f"  {name}: {request.header_text(name, value)}"
            for name, value in request.headers
            if _shown(name)
        ]
        if request.body is not None:
            lines.append("  " + _preview(request.body, scrub))
        status = self.response.status
        lines.append(f"response: {status}" if status else "response: none (no answer)")
        lines += [f"  {scrub(name)}: {scrub(value)}" for name, value in self.response.headers]
        if self.response.body:
            lines.append("  " + _preview(self.response.body, scrub))
        lines.append(f"reproduce: {self.curl()}")
        return "\n".join(lines)


def _shown(name: str) -> bool:
    return name.lower() not in {"accept-encoding", "connection", "user-agent", "content-length"}


def _preview(body: bytes, scrub: Callable[[str], str]) -> str:
    """The body on one line: JSON re-serialised compactly, anything else as text; long ones cut
    (after ``scrub``, so that no cut leaves part of a token behind)."""
    text = body[: BODY_PREVIEW * 4].decode("utf-8", "replace")
    try:
        if len(body) > BODY_PREVIEW * 4 or json_problem(body) is not None:
            raise ValueError("shown as text")
        text = json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        text = text.replace("\n", "\\n")
    text = scrub(text)
    return text if len(text) <= BODY_PREVIEW else text[:BODY_PREVIEW] + " …(cut)"


class _AsgiBridge(httpx.BaseTransport):  # in-process runs only
    """A synchronous httpx transport that runs an ASGI app on a private event loop thread."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.until: float | None = None  # time.monotonic() by which the answer must be complete

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        wait = None if self.until is None else max(self.until - time.monotonic(), 0.001)
        try:
            return future.result(timeout=wait)
        except TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout("the app did not answer in time") from None

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
        async def settle() -> None:  # answers given up on (timeouts) end before the loop does
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(settle(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class AsgiTransport:
    """Requests to an in-process ASGI app; answers go through the same bounded reader."""

    def __init__(self, app: Any, base_url: str, limits: Limits) -> None:
        self.limits = limits
        self._bridge = _AsgiBridge(app)
        self._client = httpx.Client(
            base_url=base_url, transport=self._bridge, timeout=None, trust_env=False
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        *,
        deadline: float | None = None,
    ) -> WireAnswer:
        started = time.monotonic()
        until = started + self.limits.request_timeout
        self._bridge.until = until if deadline is None else min(until, deadline)
        try:
            return self._request(method, target, headers, body, started)
        except httpx.TimeoutException:
            if deadline is not None and deadline <= until:
                raise DeadlineHit() from None
            raise TransportFailure(
                "responds_in_time",
                f"no answer within the request timeout of {self.limits.request_timeout:g} s",
                "the application was still working on it",
            ) from None

    def _request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        started: float,
    ) -> WireAnswer:
        with self._client.stream(method, target, headers=headers, content=body) as response:
            answer_headers = tuple(response.headers.multi_items())
            check_headers(answer_headers, self.limits)
            reader = BodyReader(
                self.limits,
                response.headers.get("content-encoding"),
                started=started,
                status=response.status_code,
                headers=answer_headers,
            )
            for chunk in response.iter_raw():
                reader.feed(chunk)
            return WireAnswer(response.status_code, answer_headers, reader.finish(), ())


class Transport(Protocol):
    def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        *,
        deadline: float | None = None,
    ) -> WireAnswer: ...

    def close(self) -> None: ...


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
        """A plain httpx client for the target (tests use it to look at a server directly)."""
        transport: httpx.BaseTransport | None = _AsgiBridge(self.app) if self.app else None
        return httpx.Client(
            base_url=self.base_url, transport=transport, timeout=30, trust_env=False
        )

    def transport(self, limits: Limits) -> Transport:
        if self.app is not None:
            return AsgiTransport(self.app, self.base_url, limits)
        try:
            return WireClient(self.base_url, limits)
        except Unreachable as exc:
            raise CannotRun(str(exc)) from None


Observer = Callable[[Exchange], None]
Timing = Callable[[str, float, RecordedRequest], None]


@dataclass
class HttpSession:
    """Sends requests to the target over one connection, every exchange observed."""

    transport: Transport
    base_url: str
    limits: Limits = field(default_factory=Limits)
    deadline: Deadline = field(default_factory=Deadline)
    observers: list[Observer] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)
    answered: bool = False  # once the server has answered, a dropped request is its failure
    halt: ContractFailure | None = None  # the current unit met a broken bound: no more requests
    last: Exchange | None = None
    secrets: Secrets = field(default_factory=Secrets)  # the tokens, kept out of every output

    def close(self) -> None:
        self.transport.close()

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
        """Send one request; ``token`` None sends no ``Authorization`` header at all.

        Raises ``DeadlineReached`` past the run's deadline, and the unit's ``ContractFailure``
        once a bound broke (each from one place, so Hypothesis sees the same failure again when
        it replays an example).
        """
        if self.halt is None:
            self.deadline.check()
            exchange = self._send(operation, method, path, token, query, body, raw_body, headers)
            if exchange is not None:
                return exchange
            self.deadline.check()  # the deadline ended the wait
        assert self.halt is not None
        raise self.halt

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        token: str | None,
        query: Mapping[str, Any] | None,
        body: Any,
        raw_body: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Exchange | None:
        """The exchange; None when the deadline or a broken bound ended it (``halt`` is set)."""
        all_headers = {"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
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
        target = path
        if query:
            pairs = [(k, _query_value(item)) for k, v in query.items() for item in _as_list(v)]
            target += "?" + urlencode(pairs, encoding="utf-8", errors="surrogatepass")
        request = RecordedRequest(
            method, self.base_url + target, tuple(all_headers.items()), content, self.secrets
        )
        started = time.monotonic()
        try:
            answer = self.transport.request(
                method, target, list(all_headers.items()), content, deadline=self.deadline.at
            )
        except DeadlineHit:
            return None
        except Unreachable as exc:
            if not self.answered:
                raise CannotRun(f"cannot reach {self.base_url}: {exc}") from None
            lost = TransportFailure(
                "complete_response", "the server stopped taking connections", str(exc)
            )
            self._stop(operation, request, lost, started)
            return None
        except TransportFailure as failure:
            self._stop(operation, request, failure, started)
            return None
        seconds = time.monotonic() - started
        self.answered = True
        for timing in self.timings:
            timing(operation, seconds, request)
        recorded = RecordedResponse(answer.status, answer.headers, answer.body, answer.interim)
        exchange = Exchange(operation, request, recorded, seconds)
        self.last = exchange
        for observer in self.observers:
            observer(exchange)
        return exchange

    def _stop(
        self, operation: str, request: RecordedRequest, failure: TransportFailure, started: float
    ) -> None:
        seconds = time.monotonic() - started
        for timing in self.timings:
            timing(operation, seconds, request)
        response = RecordedResponse(failure.status, failure.headers, failure.partial)
        exchange = Exchange(operation, request, response, seconds)
        self.halt = ContractFailure(
            failure.check, failure.title, failure.message, exchange=exchange
        )


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

"""Forwarding: every request goes upstream unchanged, every answer comes back unchanged (or, in
strict mode, as a 502 when it breaks the contract), within the limits.

``Proxy`` holds what every exchange shares (the upstream, the judging behind ``inspections``,
the limits); ``Forwarding`` is one exchange on its way, fed by the upstream connection (it is that
connection's ``Listener``) and writing to the client's connection (``rooms_kit.traffic.front``).
The request body is read whole (it is small and bounded); the answer is passed on to the client
as it arrives while a copy, decoded and capped, is kept for the checks, which run once the
exchange is over (``rooms_kit.traffic.inspections``: beside the loop when the bodies are large).
In strict mode the answer is held until it has been judged. Hop-by-hop headers are dropped in both
directions; the only header ever added is the framing the client needs (``transfer-encoding:
chunked`` when the upstream's body was not sized, ``connection: close`` when the connection ends).
What the proxy itself answers (upstream unreachable or too slow, a refusal in strict mode) carries
Google's error envelope.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import ssl
import struct
import sys
import termios
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import TextIO
from urllib.parse import urlsplit

import httpx

from rooms_kit.contract.bounded import BodyReader, TransportFailure, content_coding
from rooms_kit.contract.failures import ContractFailure, clip
from rooms_kit.reference_server.limits import ConnectionLimits, connection_cap
from rooms_kit.traffic.aliases import AUTHORIZATION, Aliases
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
from rooms_kit.traffic.front import ClientConnection, Request
from rooms_kit.traffic.inspections import Inspections, Inspector
from rooms_kit.traffic.monitor import named
from rooms_kit.traffic.seen import Seen
from rooms_kit.traffic.upstream import Connection, Upstream, UpstreamError

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {b"content-length", b"expect"}
NO_BODY_METHODS = frozenset({b"GET", b"HEAD", b"DELETE", b"OPTIONS"})
TICK_SECONDS = 0.1  # how often deadlines are checked: every bound holds to within this
PHRASES = {status.value: status.phrase.encode() for status in HTTPStatus}


def envelope(status: int, reason: str, message: str, details: list[str] | None = None) -> bytes:
    errors = [
        {"domain": "rooms-kit.proxy", "reason": reason, "message": text}
        for text in (details or [message])
    ]
    body = {"error": {"code": status, "message": message, "errors": errors}}
    return json.dumps(body, ensure_ascii=False).encode()


def _answer(status: int, body: bytes, *, close: bool, head_only: bool = False) -> bytes:
    """An answer of the proxy's own; ``head_only`` (to HEAD) keeps the length, not the body."""
    head = [
        b"HTTP/1.1 %d %s" % (status, PHRASES.get(status, b"")),
        b"content-type: application/json; charset=utf-8",
        b"content-length: %d" % len(body),
    ]
    if close:
        head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + (b"" if head_only else body)


def _unsent(transport: asyncio.Transport) -> int:
    """Bytes written to a client that it has not taken yet: the transport's buffer and, where
    the system says (Linux), the socket's send queue, which holds megabytes over loopback."""
    size = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if sock is not None and hasattr(termios, "TIOCOUTQ"):
        try:
            queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return size
        size += struct.unpack("i", queued)[0]
    return size


def system_reason(exc: OSError) -> str:
    """The system's reason in words, without Python's ``[Errno N]`` or the call that failed (a
    TLS failure carries OpenSSL's code in ``errno``: 1 read as "operation not permitted")."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its TLS certificate is refused: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed: {(exc.reason or str(exc)).lower().replace('_', ' ')}"
    if exc.errno:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


class Proxy:
    """What every exchange shares; ``connection`` is the protocol factory for the listening
    socket."""

    def __init__(
        self,
        upstream: str,
        inspect: Inspector,
        aliases: Aliases,
        *,
        strict: bool = False,
        limits: Limits | None = None,
        connection_limits: ConnectionLimits | None = None,
        err: TextIO | None = None,
        name: Callable[[Seen], str] | None = None,
    ) -> None:
        """``name``: how the proxy's own lines name an exchange, as the monitor's lines do
        (``Monitor.name``); without it, by method and target alone."""
        parts = urlsplit(upstream.rstrip("/"))
        self.upstream = upstream.rstrip("/")
        self.inspections = Inspections(inspect, err=err)
        self.err = err
        self.aliases = aliases
        self.name = name or (lambda seen: named(None, seen.method, aliases.scrub(seen.target)))
        self.strict = strict
        self.limits = limits or Limits()
        self.connection_limits = connection_limits or ConnectionLimits()
        self.cap = connection_cap(self.connection_limits.max_connections)
        self.count = 0
        self.held = 0  # bytes of answers kept for judging by the exchanges in flight
        self.connections: set[ClientConnection] = set()
        self.in_flight: dict[ClientConnection, Forwarding] = {}
        self.stopping = False
        url = httpx.URL(self.upstream)  # as a request line and a Host header carry them:
        self._prefix = url.raw_path.rstrip(b"/")  # percent-encoded ('/a b', '/€')
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.pool = Upstream(parts.scheme, parts.hostname or "", port, url.netloc)
        self._host = b"host: " + url.netloc + b"\r\n"  # IDNA, never a user or password

    def connection(self) -> ClientConnection:
        return ClientConnection(self)

    async def tick(self) -> None:
        """Enforce every deadline, clients' and exchanges', until cancelled."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            for client in [c for c in self.connections if 0 < c.deadline <= now]:
                client.deadline = 0.0
                client.expire()
            # a client whose answers stop our writing: dropped once it has taken no byte of them
            # for the write timeout (whether its exchange is in flight or over: strict mode
            # writes a judged answer whole; the time counts from the last byte taken, since
            # writing resumes only once nearly all that waits has been read)
            unread = self.connection_limits.write_timeout
            for client in [c for c in self.connections if c.stalled_at]:
                transport = client.transport
                if transport is None:
                    continue
                unsent = _unsent(transport)
                if unsent < client.unsent:
                    client.stalled_at = now
                client.unsent = unsent
                if client.stalled_at < now - unread:
                    transport.abort()
            for forwarding in list(self.in_flight.values()):
                if forwarding.paused_at:  # the client's pace, not the upstream's: bounded above
                    continue  # (dropped, connection_lost lets the answer go on to its end)
                if forwarding.deadline <= now:
                    forwarding.too_slow()

    def forward(self, client: ClientConnection, request: Request) -> None:
        self.count += 1
        forwarding = Forwarding(self, client, request)
        self.in_flight[client] = forwarding
        forwarding.start()

    def client_is_slow(self, client: ClientConnection, slow: bool) -> None:
        """Stop reading the upstream's answer while the client does not read it; the time it
        waits for the client is added to the upstream's deadline (a client gone: ``slow`` is
        False, and the answer is read to its end, to be judged)."""
        forwarding = self.in_flight.get(client)
        if forwarding is None:
            return
        now = time.monotonic()
        if slow and not forwarding.paused_at:
            forwarding.paused_at = now
        elif not slow and forwarding.paused_at:
            forwarding.waited(now - forwarding.paused_at)
        upstream = forwarding.connection
        if upstream is not None and upstream.transport is not None and not upstream.closed:
            if slow:
                upstream.transport.pause_reading()
            else:
                upstream.transport.resume_reading()

    def request_bytes(self, request: Request, target: bytes) -> bytes:
        lines = [request.method, b" ", self._prefix, target, b" HTTP/1.1\r\n", self._host]
        for name, value in request.headers:
            if name.lower() not in NOT_FORWARDED:
                lines += [name, b": ", value, b"\r\n"]
        if request.body or request.method not in NO_BODY_METHODS:
            lines.append(b"content-length: %d\r\n" % len(request.body))
        lines += [b"\r\n", request.body]
        return b"".join(lines)

    async def stop(self, grace: float, hurry: asyncio.Event | None = None) -> None:
        """Close idle client connections and wait (at most ``grace`` s, or until ``hurry`` is
        set) for exchanges in flight; those still in flight then are ended by the proxy."""
        self.stopping = True
        for client in list(self.connections):
            client.close_idle()
        began = time.monotonic()
        deadline = began + grace
        while self.in_flight and time.monotonic() < deadline:
            if hurry is not None and hurry.is_set():
                break
            await asyncio.sleep(0.05)
        now = time.monotonic()
        waited = grace if now >= deadline else round(now - began, 1)
        for forwarding in list(self.in_flight.values()):
            forwarding.stopped(waited)
        for client in list(self.connections):
            if client.transport is not None:
                client.transport.abort()
        self.pool.close()


class Forwarding:
    """One exchange: the request sent upstream, the answer relayed and judged."""

    def __init__(self, proxy: Proxy, client: ClientConnection, request: Request) -> None:
        self.proxy = proxy
        self.client = client
        self.request = request
        self.connection: Connection | None = None
        self.done = False
        self.retried = False
        self._pending: list[bytes] = []
        self._kept: list[bytes] = []
        self._head: bytes = b""
        self._chunked = False
        self._wire = 0
        self._reader: BodyReader | None = None
        self._held = 0  # of ``proxy.held``, this exchange's
        self.begun = time.monotonic()
        self.deadline = self.begun + proxy.limits.seconds
        self.paused_at = 0.0  # since when the client has not been reading (0: it reads)
        self._abandoned = False  # strict: the stop answered 503 before the verdict came
        self.target = request.target  # already in origin form (front.origin_form)
        self.seen = self._seen(request.target)

    def waited(self, seconds: float) -> None:
        """The client read again after ``seconds``: that time is not the upstream's."""
        self.paused_at = 0.0
        self.deadline += seconds
        if self._reader is not None:
            self._reader.started += seconds

    def _seen(self, target: bytes) -> Seen:
        """The exchange as it may be shown: each credential replaced by its alias (one pass)."""
        aliases = self.proxy.aliases
        headers: list[tuple[str, str]] = []
        player = ""
        for raw_name, raw_value in self.request.headers:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            if name.lower() == AUTHORIZATION:
                alias = aliases.of_authorization(value)
                player = player or alias
                value = f"Bearer {alias}"
            headers.append((name, value))
        path, _, query = target.decode("latin-1").partition("?")
        return Seen(
            number=self.proxy.count,
            started=time.time(),
            method=self.request.method.decode("latin-1"),
            path=path,
            query=aliases.query(query),
            player=player or aliases.caller([], query),
            request_headers=headers,
            request_body=self.request.body,
        )

    # -- sending -------------------------------------------------------------------------------

    def start(self) -> None:
        self._data = self.proxy.request_bytes(self.request, self.target)
        connection = self.proxy.pool.take()
        if connection is None:
            self._connecting = asyncio.get_running_loop().create_task(self._connect())
        else:
            self._send(connection)

    def _send(self, connection: Connection) -> None:
        self.connection = connection
        connection.send(self, self._data, head_only=self.request.method == b"HEAD")

    async def _connect(self) -> None:
        try:
            connection = await self.proxy.pool.connect()
        except OSError as exc:
            text = f"the upstream cannot be reached: {system_reason(exc)}"
            self._fail_early(502, NO_ANSWER, "no answer", text)
            return
        if self.done:
            connection.abort()
            return
        self._send(connection)

    # -- the answer (Listener) -----------------------------------------------------------------

    def head(self, status: int, headers: list[tuple[bytes, bytes]], sized: bool) -> None:
        seen = self.seen
        seen.status = status
        kept: list[tuple[bytes, bytes]] = []
        shown: list[tuple[str, str]] = []
        for name, value in headers:
            if name.lower() in HOP_BY_HOP:
                continue
            kept.append((name, value))
            shown.append((name.decode("latin-1"), value.decode("latin-1")))
        seen.response_headers = shown
        seen.problem = headers_problem(shown, self.proxy.limits)
        coding = content_coding(shown)
        try:
            self._reader = body_reader(self.proxy.limits, coding, started=self.begun, status=status)
        except TransportFailure as failure:  # an encoding the checks cannot read: forward only
            seen.problem, self._reader = as_failure(failure), None
        bodiless = self.request.method == b"HEAD" or status in {204, 304}
        self._chunked = not sized and not bodiless
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, PHRASES.get(status, b""))]
        for name, value in kept:
            lines += [name, b": ", value, b"\r\n"]
        if self._chunked:
            lines.append(b"transfer-encoding: chunked\r\n")
        if not self.request.keep_alive or self.proxy.stopping:
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        self._head = b"".join(lines)
        if not self.proxy.strict:
            self._pending.append(self._head)

    def chunk(self, data: bytes) -> None:
        if self.done:  # refused meanwhile (strict mode, past --max-held-bytes)
            return
        self._wire += len(data)
        limit = self.proxy.limits.max_response_bytes
        if self._wire > limit:
            self._cut(ContractFailure(RESPONSE_SIZE, f"body larger than {limit} bytes on the wire"))
            return
        grown = len(data) if self.proxy.strict else 0  # strict mode holds the wire bytes too
        if self._reader is not None:
            before = self._reader.kept
            try:
                self._reader.feed(data)  # bounded: decompressed size and time
            except TransportFailure as failure:
                if failure.check == RESPONDS_IN_TIME:  # the reader noticed before the ticker
                    self.too_slow()
                    return
                self.seen.problem, self._reader = as_failure(failure), None
            else:
                grown += self._reader.kept - before
        if grown and not self._hold(grown) and self.proxy.strict:
            return  # answered 503 instead
        if self.proxy.strict:
            self._kept.append(data)
        elif self._chunked:
            self._pending += [b"%x\r\n" % len(data), data, b"\r\n"]
        else:
            self._pending.append(data)

    def flush(self) -> None:
        if self._pending and not self.done:
            self.client.write(b"".join(self._pending))
            self._pending.clear()

    def end(self) -> None:
        if self.done:
            return
        if self._reader is not None:
            try:
                self.seen.response_body = self._reader.finish()
            except TransportFailure as failure:
                self.seen.problem = as_failure(failure)
        if self._chunked and not self.proxy.strict:
            self._pending.append(b"0\r\n\r\n")
        self._finish(cut=False)

    def error(self, problem: UpstreamError, stale: bool) -> None:
        if self.done:
            return
        if stale and not self.retried:  # closed by the server while idle: once more, anew
            self.retried = True
            self.connection = None
            self._connecting = asyncio.get_running_loop().create_task(self._connect())
            return
        text = str(problem)
        if not self.seen.status:
            self._fail_early(
                502, NO_ANSWER, "no answer", f"the upstream dropped the request: {text}"
            )
        else:
            self._cut(ContractFailure(COMPLETE_RESPONSE, "answer cut short", text))

    def _hold(self, size: int) -> bool:
        """Count ``size`` more bytes kept for judging, within what all exchanges together may
        keep; past that, the answer is let go (``_let_go``) and False returned."""
        proxy = self.proxy
        if proxy.held + size > proxy.limits.max_held_bytes:
            self._let_go(proxy.held + size)
            return False
        proxy.held += size
        self._held += size
        return True

    def _let_go(self, needed: int) -> None:
        """Keep nothing more of this answer: it is forwarded unjudged, or, in strict mode, where
        only a judged answer may go out, refused with 503."""
        limit = self.proxy.limits.max_held_bytes
        text = (
            f"the answers in flight would keep {needed:,} bytes for checking, more than "
            f"--max-held-bytes allows ({limit:,})"
        )
        self.seen.unjudged = text
        self._reader = None
        self._release_held()
        if not self.proxy.strict:
            return
        self._kept = []
        self._head = b""
        close = not self.request.keep_alive or self.proxy.stopping
        body = envelope(
            503, "proxyBusy", f"rooms-kit proxy (strict): the answer cannot be checked now: {text}"
        )
        self._pending = [self._own(503, body, close=close)]
        self._finish(cut=False, answered=True)

    def _release_held(self) -> None:
        self.proxy.held -= self._held
        self._held = 0

    # -- endings -------------------------------------------------------------------------------

    def too_slow(self) -> None:
        if self.done:  # over, or waiting for its verdict (strict mode): no deadline left
            return
        seconds = self.proxy.limits.seconds
        if not self.seen.status:
            text = f"the upstream did not answer within {seconds:g} s"
            self._fail_early(504, RESPONDS_IN_TIME, "no answer in time", text)
        else:
            self._cut(
                ContractFailure(
                    RESPONDS_IN_TIME,
                    "answer not complete in time",
                    f"the body did not arrive within {seconds:g} s",
                )
            )

    def stopped(self, grace: float) -> None:
        """The stop waited ``grace`` s (all it had, or until a second signal) for this exchange
        in vain: it ends here, said and counted as neither checked nor recorded (the upstream's
        answer is not whole, so it is not judged). A client that got nothing yet gets 503 (in
        strict mode it never has); one whose answer was on its way has it cut."""
        if self.done:  # over, or (strict mode) whole and waiting for its verdict
            if self.proxy.strict and self.proxy.in_flight.get(self.client) is self:
                self._unchecked_at_stop(grace)
            return
        self.seen.cut_at_stop = True
        self._reader = None
        if self.seen.status and not self.proxy.strict:  # part of the answer may be out
            self.seen.unjudged = f"its answer was not whole {grace:g} s after the stop began: cut"
            self._finish(cut=True)
            return
        began = "its answer was not whole" if self.seen.status else "no answer had come"
        self.seen.unjudged = (
            f"{began} {grace:g} s after the stop began: answered 503 (proxyStopping)"
        )
        self._kept = []
        self._head = b""
        text = f"rooms-kit proxy: stopping; the upstream did not answer within {grace:g} s"
        self._pending = [self._own(503, envelope(503, "proxyStopping", text), close=True)]
        self._finish(cut=False, answered=True)

    def _unchecked_at_stop(self, grace: float) -> None:
        """Strict mode: the answer came whole but its verdict did not within the stop's grace.
        It may not go out unjudged, so the client gets 503; the judging goes on (the stop's end
        waits for it), and the exchange is judged and recorded as any other."""
        self._abandoned = True  # the verdict, when it comes, finds nobody to answer
        text = (
            f"rooms-kit proxy (strict): stopping; the answer was not checked within {grace:g} s, "
            "so it is not sent"
        )
        if self.client.gone:  # it left while its answer waited for the verdict
            outcome = ", and its client had gone"
        else:
            outcome = ": its client got 503"
            self.client.write(self._own(503, envelope(503, "proxyStopping", text), close=True))
        print(
            f"rooms-kit proxy: exchange {self.seen.number} ({self.proxy.name(self.seen)}): its "
            f"verdict was not ready {grace:g} s after the stop began{outcome} (the exchange is "
            "still judged and recorded)",
            file=self.proxy.err or sys.stderr,
            flush=True,
        )
        self._release(close=True)

    def _fail_early(self, status: int, check: str, title: str, text: str) -> None:
        """No answer came: the proxy answers in the envelope."""
        if self.done:
            return
        self.seen.problem = ContractFailure(check, title, text)
        body = envelope(status, "upstreamFailed", f"rooms-kit proxy: {text}")
        close = not self.request.keep_alive or self.proxy.stopping
        self._pending = [self._own(status, body, close=close)]
        self._kept = []
        self._head = b""
        self._finish(cut=False, answered=True)

    def _cut(self, problem: ContractFailure) -> None:
        """The answer broke a bound midway: whatever went out stays, the connection ends."""
        self.seen.problem = problem
        self._finish(cut=True)

    def _finish(self, *, cut: bool, answered: bool = False) -> None:
        self.done = True
        self._release_held()  # the copy goes on to the judging, whose queue has its own bound
        connection, self.connection = self.connection, None
        if connection is not None and (cut or answered) and connection.listener is self:
            connection.abort()
        seen = self.seen
        seen.latency_ms = (time.monotonic() - self.begun) * 1000
        close = cut or not self.request.keep_alive or self.proxy.stopping
        if self.proxy.strict and not answered:
            body = b"".join(self._kept)
            self._kept = []

            def verdict(failures: list[ContractFailure]) -> None:
                if self._abandoned:  # answered 503 by the stop meanwhile
                    return
                if failures:
                    out = self._refusal(failures, close)
                elif cut:
                    out = b""
                else:
                    out = self._sized_head(len(body)) + body
                self.client.write(out)
                self._release(close)

            # the answer waits for its verdict, and counts among what waits for the judging
            self.proxy.inspections.submit(seen, verdict, held=len(body))
            return
        if self._pending:
            self.client.write(b"".join(self._pending))
            self._pending.clear()
        self.proxy.inspections.submit(seen)
        self._release(close)

    def _release(self, close: bool) -> None:
        """The exchange is over for the client: its connection may take the next request."""
        self.proxy.in_flight.pop(self.client, None)
        self.client.finished(close=close)

    def _sized_head(self, size: int) -> bytes:
        """The held answer's head, framed by its length (strict mode sends it whole)."""
        head = self._head
        if self._chunked:
            head = head.replace(b"transfer-encoding: chunked\r\n", b"")
        lines = [
            line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-length:")
        ]
        bodiless = self.request.method == b"HEAD" or self.seen.status in {204, 304}
        if not bodiless:
            lines.insert(1, b"content-length: %d" % size)
        return b"\r\n".join(lines)

    def _refusal(self, failures: list[ContractFailure], close: bool) -> bytes:
        details = [
            f"[{f.check}] {f.title}" + (f": {clip(f.message)}" if f.message else "")
            for f in failures
        ]
        summary = "; ".join(f"[{f.check}] {f.title}" for f in failures)
        text = f"rooms-kit proxy (strict): the upstream answer breaks the contract: {summary}"
        return self._own(502, envelope(502, "contractViolation", text, details), close=close)

    def _own(self, status: int, body: bytes, *, close: bool) -> bytes:
        """An answer the proxy makes for this exchange (no body to HEAD: a client reading one
        would take it for the start of its next answer)."""
        return _answer(status, body, close=close, head_only=self.request.method == b"HEAD")

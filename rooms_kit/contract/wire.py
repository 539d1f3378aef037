"""A small HTTP/1.1 client with hard bounds, for talking to servers that may misbehave.

Built on h11 over a plain socket so that every wait has an end: each ``recv`` waits at most
until the request's own timeout or the run's deadline, whichever comes first, and the header
block is capped by h11 itself. Bodies go through ``bounded.BodyReader``. Redirects are never
followed. One keep-alive connection is reused while the server keeps it open.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

import h11

from rooms_kit.contract.bounded import (
    BodyReader,
    Limits,
    TransportFailure,
    check_headers,
    content_coding,
)

RECV_BYTES = 64 * 1024


class Unreachable(Exception):
    """No connection could be made at all (refused, no route, bad host)."""


class DeadlineHit(Exception):
    """The run's deadline came before the answer did."""


@dataclass(frozen=True)
class WireAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    interim: tuple[int, ...]  # 1xx statuses seen before the final one


def _text(value: bytes) -> str:
    return value.decode("latin-1")


class WireClient:
    def __init__(self, base_url: str, limits: Limits) -> None:
        try:
            parts = urlsplit(base_url)
            port = parts.port  # raises ValueError for a port that is not 0..65535
        except ValueError as exc:
            raise Unreachable(f"{base_url!r} is not a usable URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Unreachable(f"{base_url!r} is not an http:// or https:// URL with a host")
        self.host = parts.hostname
        self.tls = parts.scheme == "https"
        self.port = port or (443 if self.tls else 80)
        self.authority = parts.netloc.rsplit("@", 1)[-1]
        self.limits = limits
        self._sock: socket.socket | None = None
        self._conn: h11.Connection | None = None

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._conn = None

    def _connect(self, until: float, deadline: float | None) -> None:
        wait = self._wait(until, deadline)
        try:
            sock = socket.create_connection((self.host, self.port), timeout=wait)
        except TimeoutError:
            self._timed_out(until, deadline, "connecting", b"")
        except OSError as exc:
            reason = exc.strerror.lower() if exc.strerror else str(exc)  # words, no [Errno N]
            raise Unreachable(f"cannot connect to {self.host}:{self.port}: {reason}") from exc
        if self.tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self._sock = sock
        self._conn = h11.Connection(
            h11.CLIENT, max_incomplete_event_size=self.limits.max_header_bytes
        )

    @staticmethod
    def _wait(until: float, deadline: float | None) -> float:
        end = until if deadline is None else min(until, deadline)
        return max(end - time.monotonic(), 0.001)

    def _timed_out(
        self, until: float, deadline: float | None, doing: str, partial: bytes
    ) -> NoReturn:
        self.close()
        if deadline is not None and deadline <= until and time.monotonic() >= deadline:
            raise DeadlineHit()
        raise TransportFailure(
            "responds_in_time",
            f"no answer within the request timeout of {self.limits.request_timeout:g} s",
            f"the server accepted the request but was still silent while {doing}",
            partial=partial,
        )

    def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        *,
        deadline: float | None = None,
    ) -> WireAnswer:
        """Send one request and read its answer within the limits (``deadline`` is a
        ``time.monotonic()`` value that ends the wait whatever the request timeout)."""
        reused = self._sock is not None
        try:
            try:
                return self._exchange(method, target, headers, body, deadline)
            except _StaleConnection:
                if not reused:
                    raise TransportFailure(
                        "complete_response", "the server closed the connection without answering"
                    ) from None
                return self._exchange(method, target, headers, body, deadline)
        except BaseException:
            self.close()  # whatever is left of that answer must not meet the next request
            raise

    def _exchange(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        deadline: float | None,
    ) -> WireAnswer:
        started = time.monotonic()
        until = started + self.limits.request_timeout
        if self._sock is None:
            self._connect(until, deadline)
        assert self._sock is not None and self._conn is not None
        sock, conn = self._sock, self._conn
        all_headers = [("Host", self.authority), *headers]
        all_headers.append(("Content-Length", str(len(body or b""))))
        try:
            data = conn.send(h11.Request(method=method, target=target, headers=all_headers))
            data = (data or b"") + (conn.send(h11.Data(data=body)) or b"" if body else b"")
            data += conn.send(h11.EndOfMessage()) or b""
            sock.settimeout(self._wait(until, deadline))
            sock.sendall(data)
        except TimeoutError:
            self._timed_out(until, deadline, "taking the request", b"")
        except OSError as exc:
            self.close()
            raise _StaleConnection() from exc
        return self._read_answer(sock, conn, started, until, deadline)

    def _read_answer(
        self,
        sock: socket.socket,
        conn: h11.Connection,
        started: float,
        until: float,
        deadline: float | None,
    ) -> WireAnswer:
        interim: list[int] = []
        reader: BodyReader | None = None
        status = 0
        response_headers: tuple[tuple[str, str], ...] = ()
        received_any = False
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                self.close()
                raise self._protocol_failure(exc, status, response_headers, reader) from None
            if event is h11.NEED_DATA:
                chunk = self._receive(
                    sock, until, deadline, received_any, status, response_headers, reader
                )
                received_any = True
                conn.receive_data(chunk)
                if reader is not None:
                    reader.check_time()
                elif time.monotonic() > until:
                    self._timed_out(until, deadline, "sending the headers", b"")
                continue
            if isinstance(event, h11.InformationalResponse):
                interim.append(event.status_code)
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                response_headers = tuple((_text(k), _text(v)) for k, v in event.headers)
                check_headers(response_headers, self.limits)
                encoding = content_coding(response_headers)
                reader = BodyReader(
                    self.limits, encoding, started=started, status=status, headers=response_headers
                )
                continue
            if isinstance(event, h11.Data):
                assert reader is not None
                reader.feed(bytes(event.data))
                continue
            if isinstance(event, h11.EndOfMessage):
                assert reader is not None
                body_bytes = reader.finish()
                self._recycle()
                return WireAnswer(status, response_headers, body_bytes, tuple(interim))
            # ConnectionClosed before the answer: the peer hung up
            self.close()
            raise TransportFailure(
                "complete_response", "the server closed the connection without answering"
            )

    def _receive(
        self,
        sock: socket.socket,
        until: float,
        deadline: float | None,
        received_any: bool,
        status: int,
        headers: tuple[tuple[str, str], ...],
        reader: BodyReader | None,
    ) -> bytes:
        """The next bytes of the answer, waiting no longer than the request's time allows."""
        try:
            sock.settimeout(self._wait(until, deadline))
            chunk = sock.recv(RECV_BYTES)
        except TimeoutError:
            partial = reader.finish_partial() if reader is not None else b""
            self._timed_out(until, deadline, "sending the answer", partial)
        except OSError as exc:
            self.close()
            if not received_any:
                raise _StaleConnection() from exc
            raise TransportFailure(
                "complete_response",
                "the connection broke in the middle of the answer",
                f"{type(exc).__name__}: {exc}",
                status=status,
                headers=headers,
                partial=reader.finish_partial() if reader is not None else b"",
            ) from None
        if not chunk and not received_any:
            self.close()
            raise _StaleConnection()
        return chunk

    def _recycle(self) -> None:
        conn = self._conn
        if conn is None:
            return
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            self.close()

    def _protocol_failure(
        self,
        exc: h11.RemoteProtocolError,
        status: int,
        headers: tuple[tuple[str, str], ...],
        reader: BodyReader | None,
    ) -> TransportFailure:
        text = str(exc)
        partial = reader.finish_partial() if reader is not None else b""
        if "Receive buffer too long" in text:
            return TransportFailure(
                "header_limits",
                f"response header block larger than {self.limits.max_header_bytes} bytes",
            )
        if reader is not None:
            return TransportFailure(
                "complete_response",
                "the connection ended before the whole body arrived",
                text,
                status=status,
                headers=headers,
                partial=partial,
            )
        if "status_code" in text:
            return TransportFailure("valid_status", "a status outside 100-599", text)
        return TransportFailure("http_protocol", "the answer is not valid HTTP/1.1", text)


class _StaleConnection(Exception):
    """A reused keep-alive connection was closed by the server before it answered."""

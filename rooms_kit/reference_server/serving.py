"""Running the reference server on uvicorn: binding, JSON-lines logs, graceful stop.

Logs go to standard error as JSON lines: one per request on ``rooms_kit.access`` (never the
query string or headers, which may hold a token) and the events ``development_mode``,
``listening`` and ``stopped``. SIGTERM and SIGINT stop the server gracefully: requests in
flight finish, the database is closed, ``serve`` returns normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from rooms_api.server import DEFAULT_MAX_BODY_BYTES

from rooms_kit.errors import KitError
from rooms_kit.reference_server.app import ACCESS_LOGGER, create_reference_app
from rooms_kit.reference_server.limits import (
    ACCEPT_BATCH,
    LISTEN_BACKLOG,
    ConnectionLimits,
    connection_cap,
    guarded_protocol,
    quiet_accept_errors,
)
from rooms_kit.reference_server.log_limit import RateLimitFilter
from rooms_kit.reference_server.service import DEFAULT_APPLICATION_ID

EVENT_LOGGER = "rooms_kit.serve"
LOG_LIMIT = RateLimitFilter()
GRACEFUL_SHUTDOWN_SECONDS = 30


class JsonLinesFormatter(logging.Formatter):
    """Access records are JSON already; every other record becomes a small JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == ACCESS_LOGGER:
            return record.getMessage()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLinesFormatter())
    handler.addFilter(LOG_LIMIT)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _event(message: str, level: int = logging.INFO, **fields: Any) -> None:
    logging.getLogger(EVENT_LOGGER).log(level, message, extra={"fields": fields})


class GracefulServer(uvicorn.Server):
    """uvicorn's server, except that a caught SIGTERM/SIGINT is not raised again once the server
    has stopped, so the caller can finish its clean-up and exit with status 0. ``on_started``
    runs once the server accepts connections and its signal handlers are in place."""

    on_started: Callable[[], None] = staticmethod(lambda: None)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, original in originals.items():
                signal.signal(sig, original)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's backlog is also how many connections asyncio accepts in one go; it is kept
        # small (limits.ACCEPT_BATCH) while the kernel's queue is set back to its full length.
        asyncio.get_running_loop().set_exception_handler(quiet_accept_errors)
        await super().startup(sockets)
        for sock in sockets or ():
            sock.listen(LISTEN_BACKLOG)
        if self.started:
            self.on_started()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Naming IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on connections whose socket says
    # so, and without it every reply waits ~40 ms for a delayed acknowledgement.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        raise KitError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def serve(
    *,
    host: str,
    port: int,
    database: str | Path,
    tokens: Path | None,
    dev_tokens: bool = False,
    application_id: str | None = None,
    validate_responses: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    limits: ConnectionLimits | None = None,
) -> None:
    """Run until SIGTERM or SIGINT; announces development mode and the bound address first.

    ``max_body_bytes`` caps request bodies (default 1 MiB); ``limits`` bounds connections
    (``rooms_kit.reference_server.limits``)."""
    limits = limits or ConnectionLimits()
    protocol = guarded_protocol(limits)
    configure_logging()
    app = create_reference_app(
        database,
        tokens,
        dev_tokens=dev_tokens,
        application_id=application_id or DEFAULT_APPLICATION_ID,
        validate_responses=validate_responses,
        max_body_bytes=max_body_bytes,
    )
    try:
        sock = bind(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        if app.development_mode:
            _event(
                "DEVELOPMENT MODE (--dev-tokens): the bearer token dev-<playerId> stands for "
                "that player. Do not expose this server.",
                logging.WARNING,
                event="development_mode",
            )
        config = uvicorn.Config(
            app,
            access_log=False,
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            http=protocol,  # type: ignore[arg-type]  # a factory, as uvicorn only calls it
            timeout_keep_alive=limits.keep_alive_timeout,
            h11_max_incomplete_event_size=limits.max_header_bytes,
            backlog=ACCEPT_BATCH,
        )
        server = GracefulServer(config)
        # Announced only once SIGTERM is handled, so a stop right after the announcement is a
        # graceful one too.
        server.on_started = lambda: _event(
            f"listening on http://{bound_host}:{bound_port}",
            event="listening",
            host=bound_host,
            port=bound_port,
            database=str(database),
            application_id=app.service.application_id,
            development_mode=app.development_mode,
            max_connections=connection_cap(limits.max_connections),
        )
        server.run(sockets=[sock])
    finally:
        app.close()
    _event("stopped", event="stopped", suppressed_log_records=LOG_LIMIT.dropped_total)

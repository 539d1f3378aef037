"""Running the reference server on uvicorn: binding, JSON-lines logs, graceful stop.

Logs go to standard error as JSON lines: one per request on ``rooms_kit.access`` (never the
query string or headers, which may hold a token) and the events ``development_mode``,
``listening`` and ``stopped``. SIGTERM and SIGINT stop the server gracefully: requests in
flight finish, the database is closed, ``serve`` returns normally.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from rooms_kit.errors import KitError
from rooms_kit.reference_server.app import ACCESS_LOGGER, create_reference_app
from rooms_kit.reference_server.service import DEFAULT_APPLICATION_ID

EVENT_LOGGER = "rooms_kit.serve"
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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _event(message: str, level: int = logging.INFO, **fields: Any) -> None:
    logging.getLogger(EVENT_LOGGER).log(level, message, extra={"fields": fields})


class GracefulServer(uvicorn.Server):
    """uvicorn's server, except that a caught SIGTERM/SIGINT is not raised again once the server
    has stopped, so the caller can finish its clean-up and exit with status 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, original in originals.items():
                signal.signal(sig, original)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Naming IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on connections whose socket says
    # so, and without it every reply waits ~40 ms for a delayed acknowledgement.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
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
) -> None:
    """Run until SIGTERM or SIGINT; announces development mode and the bound address first."""
    configure_logging()
    app = create_reference_app(
        database,
        tokens,
        dev_tokens=dev_tokens,
        application_id=application_id or DEFAULT_APPLICATION_ID,
        validate_responses=validate_responses,
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
        )
        _event(
            f"listening on http://{bound_host}:{bound_port}",
            event="listening",
            host=bound_host,
            port=bound_port,
            database=str(database),
            application_id=app.service.application_id,
            development_mode=app.development_mode,
        )
        GracefulServer(config).run(sockets=[sock])
    finally:
        app.close()
    _event("stopped", event="stopped")

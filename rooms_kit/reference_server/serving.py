"""Running the reference server on uvicorn: binding, JSON-lines logs, graceful stop.

Logs go to standard error as JSON lines: one per request on ``rooms_kit.access`` (never the
query string or headers, which may hold a token) and the events ``development_mode``,
``listening`` and ``stopped``. SIGTERM and SIGINT stop the server gracefully: requests in
flight finish, the database is closed, ``serve`` returns normally; a second one stops waiting for
the requests in flight, and any later one is ignored while the database closes. During start-up
(opening or upgrading the database) either one ends the start-up at once, and ``serve`` returns
normally as well.
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
from types import FrameType
from typing import Any

import uvicorn
from rooms_api.server import DEFAULT_MAX_BODY_BYTES

from rooms_kit.errors import KitError
from rooms_kit.reference_server import port_sharers
from rooms_kit.reference_server.access_log import ACCESS_LOGGER, BatchedLineHandler
from rooms_kit.reference_server.app import ReferenceApp, create_reference_app
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
from rooms_kit.reference_server.stores import describe, is_postgres, upgrade
from rooms_kit.reference_server.workers import (
    HURRY_SIGNAL,
    Supervisor,
    WorkerSettings,
    stop_signals_to,
)

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
    # Events and warnings go out at once (a batch of one), but from a thread of their own like
    # the access lines: a standard error that nobody reads never stalls the server.
    handler = BatchedLineHandler(sys.stderr, max_lines=1, name=EVENT_LOGGER)
    handler.setFormatter(JsonLinesFormatter())
    handler.addFilter(LOG_LIMIT)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # Access lines go out in batches (see access_log); events stay immediate.
    access = logging.getLogger(ACCESS_LOGGER)
    for old in access.handlers:
        old.close()
    # JsonLinesFormatter writes access messages as they are, so finished lines may skip it.
    batched = BatchedLineHandler(sys.stderr, verbatim=True)
    batched.setFormatter(JsonLinesFormatter())
    access.handlers[:] = [batched]
    access.propagate = False


def flush_logs() -> None:
    """Write the log lines still waiting (bounded: a stuck standard error is not waited for)."""
    for handler in [*logging.getLogger(ACCESS_LOGGER).handlers, *logging.getLogger().handlers]:
        handler.flush()


def _event(message: str, level: int = logging.INFO, **fields: Any) -> None:
    logging.getLogger(EVENT_LOGGER).log(level, message, extra={"fields": fields})


class GracefulServer(uvicorn.Server):
    """uvicorn's server, except that a caught SIGTERM/SIGINT is not raised again once the server
    has stopped, so the caller can finish its clean-up and exit with status 0. ``on_started``
    runs once the server accepts connections and its signal handlers are in place."""

    on_started: Callable[[], None] = staticmethod(lambda: None)
    in_worker = False
    """A ``--workers`` worker: SIGINT stays ignored, every SIGTERM only starts the drain, and
    ``workers.HURRY_SIGNAL`` from the parent stops it (see there why)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        other = HURRY_SIGNAL if self.in_worker else signal.SIGINT
        with stop_signals_to(self.handle_exit, (signal.SIGTERM, other)):
            yield

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """A second SIGTERM or SIGINT, while the first one's drain is still waiting for the
        requests in flight, stops waiting: those requests are answered 503 (uvicorn itself
        counts a second SIGINT only, so a second SIGTERM from a process manager did nothing).
        In a worker, only ``HURRY_SIGNAL`` does that."""
        if (sig == HURRY_SIGNAL) if self.in_worker else self.should_exit:
            self.force_exit = True
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's backlog is also how many connections asyncio accepts in one go; it is kept
        # small (limits.ACCEPT_BATCH) while the kernel's queue is set back to its full length.
        asyncio.get_running_loop().set_exception_handler(quiet_accept_errors)
        await super().startup(sockets)
        for sock in sockets or ():
            sock.listen(LISTEN_BACKLOG)
        if self.started:
            self.on_started()


SPREADS_CONNECTIONS = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")
"""Whether each worker can listen on a socket of its own (Linux's ``SO_REUSEPORT`` groups, in
which the kernel picks the socket of each new connection by a hash of its addresses)."""


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0 picks a free one); with
    ``reuse_port``, one of a ``SO_REUSEPORT`` group."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Naming IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on connections whose socket says
    # so, and without it every reply waits ~40 ms for a delayed acknowledgement.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        raise KitError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def bind_workers(host: str, port: int, count: int) -> list[socket.socket]:
    """The listening sockets of ``count`` workers on one address, one per worker slot.

    One socket shared by every worker lets whichever process calls ``accept`` first take all the
    connections waiting: measured under load, one of two workers often held nearly all of them
    while the other idled. Where ``SPREADS_CONNECTIONS``, each slot listens on its own socket of a
    ``SO_REUSEPORT`` group instead, so the kernel spreads connections over the workers; elsewhere
    the list holds one shared socket ``count`` times.

    A port in use is refused as it would be without workers, a ``SO_REUSEPORT`` group of another
    server of the same user included, which the group would otherwise quietly join: once the
    group listens, no other listener may share its port (``port_sharers``). Looking after the
    bind leaves no gap, where a plain bind first, closed before the group's, left one in which
    another server could take the port or join the group."""
    if not SPREADS_CONNECTIONS:
        return [bind(host, port)] * count
    sockets: list[socket.socket] = []
    try:
        sockets.append(bind(host, port, reuse_port=True))
        port = sockets[0].getsockname()[1]  # the port the kernel picked for port 0
        for _ in range(count - 1):
            sockets.append(bind(host, port, reuse_port=True))
        try:
            others = port_sharers.strangers(sockets)
        except OSError as exc:  # /proc not mounted: no way to look, so no way to be sure
            raise KitError(
                f"cannot listen on {host}:{port} with workers: cannot read the kernel's list of "
                f"listening sockets to check that no other server shares the port ({exc.strerror})"
            ) from None
        if others:
            raise KitError(
                f"cannot listen on {host}:{port}: Address already in use (another listening "
                "socket of this user shares the port through SO_REUSEPORT)"
            )
    except KitError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def http_url(host: str, port: int) -> str:
    """The server's address as a URL (an IPv6 address in brackets: ``http://[::1]:8080``)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def build_app(options: dict[str, Any]) -> ReferenceApp:
    """The app one server process runs (``options`` are ``create_reference_app``'s)."""
    return create_reference_app(**options)


def run_server(
    app: ReferenceApp,
    sock: socket.socket,
    options: dict[str, Any],
    on_started: Callable[[], None] | None = None,
    *,
    in_worker: bool = False,
) -> None:
    """Serve ``app`` on the listening ``sock`` until SIGTERM or SIGINT (a worker:
    ``GracefulServer.in_worker``).

    ``options`` may hold ``limits`` (a ``ConnectionLimits``; the defaults otherwise); it travels
    to worker processes, so it holds only plain, picklable values."""
    limits: ConnectionLimits = options.get("limits") or ConnectionLimits()
    config = uvicorn.Config(
        app,
        access_log=False,
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        http=guarded_protocol(limits),  # type: ignore[arg-type]  # a factory, as uvicorn only calls it
        timeout_keep_alive=limits.keep_alive_timeout,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        backlog=ACCEPT_BATCH,
    )
    server = GracefulServer(config)
    server.in_worker = in_worker
    if on_started is not None:
        # Announced only once SIGTERM is handled, so a stop right after it is graceful too.
        server.on_started = on_started
    try:
        server.run(sockets=[sock])
    finally:
        flush_logs()


def _announce_development_mode() -> None:
    _event(
        "DEVELOPMENT MODE (--dev-tokens): the bearer token dev-<playerId> stands for "
        "that player. Do not expose this server.",
        logging.WARNING,
        event="development_mode",
    )


def serve(
    *,
    host: str,
    port: int,
    database: str | Path,
    tokens: Path | None,
    dev_tokens: bool = False,
    application_id: str | None = None,
    validate_responses: bool = False,
    workers: int = 1,
    migrate: bool = False,
    migrate_seconds: float | None = None,
    pool_size: int | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    limits: ConnectionLimits | None = None,
) -> int:
    """Run until SIGTERM or SIGINT; announces development mode and the bound address first.
    Returns the exit status (0 after a clean stop).

    ``migrate_seconds`` bounds each migration step of ``migrate`` (``stores.upgrade``).
    ``max_body_bytes`` caps request bodies (default 1 MiB); ``limits`` bounds connections
    (``rooms_kit.reference_server.limits``), in every worker."""
    limits = limits or ConnectionLimits()
    configure_logging()
    app: ReferenceApp | None = None
    try:
        # Until uvicorn handles them (and again once it has stopped), SIGTERM and SIGINT end
        # the start-up here, which may wait on the database for a while: exit 0 with
        # ``stopped``, as after a stop of a running server.
        with stop_signals_to(_stop_while_starting):
            # A SQLite file is made at the current layout and needs no step; upgrading it here
            # would make the file even when the start is refused below (port, tokens).
            if migrate and is_postgres(database):
                before, after = upgrade(database, step_seconds=migrate_seconds)
                _event(
                    f"database layout version {before} -> {after}",
                    event="migrated",
                    database=describe(database),
                    before=before,
                    after=after,
                )
            app_options: dict[str, Any] = {
                "database": database,
                "tokens": tokens,
                "dev_tokens": dev_tokens,
                "application_id": application_id or DEFAULT_APPLICATION_ID,
                "validate_responses": validate_responses,
                "pool_size": pool_size,
                "max_body_bytes": max_body_bytes,
            }
            server_options: dict[str, Any] = {"limits": limits}
            if workers == 1:
                # Bound first: a port in use is refused before the database is opened (or
                # made, or its authentication mode recorded).
                sock = bind(host, port)
                try:
                    app = build_app(app_options)
                except BaseException:
                    sock.close()
                    raise
                _serve_one(app, sock, database, server_options)
    except StopWhileStarting:
        workers = 1  # nothing more to start
    finally:
        if app is not None:
            # The close commits the writes still queued; a further SIGTERM or SIGINT must not
            # cut it short (its waits on the database are bounded already).
            with stop_signals_to(_ignore_while_closing):
                app.close()
    if workers > 1:
        return _serve_workers(host, port, workers, WorkerSettings(app_options, server_options))
    _event("stopped", event="stopped", suppressed_log_records=LOG_LIMIT.dropped_total)
    flush_logs()
    return 0


class StopWhileStarting(KeyboardInterrupt):
    """SIGTERM or SIGINT while ``serve`` starts. A ``KeyboardInterrupt``, so that psycopg
    cancels a statement it interrupts, as it does for Ctrl-C."""


def _stop_while_starting(*_: object) -> None:
    raise StopWhileStarting


def _ignore_while_closing(*_: object) -> None:
    """SIGTERM or SIGINT while the app closes after a stop: nothing more to stop."""


def _serve_one(
    app: ReferenceApp, sock: socket.socket, database: str | Path, server_options: dict[str, Any]
) -> None:
    """Announce and run a single server process on ``sock`` until it is stopped."""
    bound_host, bound_port = sock.getsockname()[:2]
    if app.development_mode:
        _announce_development_mode()

    def announce() -> None:
        _event(
            f"listening on {http_url(bound_host, bound_port)}",
            event="listening",
            host=bound_host,
            port=bound_port,
            database=describe(database),
            application_id=app.service.application_id,
            development_mode=app.development_mode,
            workers=1,
            max_connections=connection_cap(server_options["limits"].max_connections),
        )

    run_server(app, sock, server_options, announce)


def _serve_workers(host: str, port: int, count: int, settings: WorkerSettings) -> int:
    if str(settings.app_options["database"]) == ":memory:":
        raise KitError(
            "--workers needs a database file or a PostgreSQL address: with :memory: each "
            "worker would keep its own, separate rooms"
        )
    sockets = bind_workers(host, port, count)
    try:
        bound_host, bound_port = sockets[0].getsockname()[:2]
        supervisor = Supervisor(sockets, settings, _event)
        with supervisor.signals_handled():
            development_mode = supervisor.start()
            if development_mode is None:  # SIGTERM or SIGINT while the workers started
                status = 0
            else:
                if development_mode:
                    _announce_development_mode()
                _event(
                    f"listening on {http_url(bound_host, bound_port)} with {count} workers",
                    event="listening",
                    host=bound_host,
                    port=bound_port,
                    database=describe(settings.app_options["database"]),
                    application_id=settings.app_options["application_id"],
                    development_mode=development_mode,
                    workers=count,
                    pids=supervisor.pids,
                    max_connections=connection_cap(
                        settings.server_options["limits"].max_connections
                    ),
                )
                status = supervisor.supervise()
    finally:
        for sock in sockets:
            sock.close()
    _event("stopped", event="stopped", suppressed_log_records=LOG_LIMIT.dropped_total)
    flush_logs()
    return status

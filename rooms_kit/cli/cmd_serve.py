"""``rooms-kit serve``: the reference server; ``rooms-kit tokens add``: a token in its database."""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

from rooms_kit.cli.arguments import byte_size, listen_host
from rooms_kit.cli.database_option import HELP as DATABASE_HELP
from rooms_kit.cli.database_option import MEMORY, database
from rooms_kit.cli.doclinks import doc_path
from rooms_kit.errors import KitError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_DATABASE = "rooms.db"
TOKEN_TAKEN = (
    "that token already belongs to another player; tokens are not moved "
    "(pick another token, or leave out --token for a new one)"
)
EXIT_TOKEN_TAKEN = 1
"""``tokens add`` with a token another player holds: checked and found wrong, nothing stored
(the exit status of a check that failed, not 2, which says the command could not run)."""

# A stored token must be one a client can send: the server reads request heads up to 16 KiB.
MAX_TOKEN_CHARS = 4096
MAX_APPLICATION_ID = 256
MAX_BODY_BYTES = 64 * 1024 * 1024  # with the default 1 MiB, memory stays under 300 MB
MAX_CONNECTIONS = 100_000
MAX_SECONDS = 3600
MIGRATE_SECONDS = 3600.0  # postgres_schema.DEFAULT_STEP_SECONDS (that module needs psycopg)
MAX_MIGRATE_SECONDS = 86_400  # a day: a limit must stay a limit
USABLE_TOKEN = re.compile(rf"[\x21-\x7e]{{1,{MAX_TOKEN_CHARS}}}")


def _port(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text):  # ASCII digits only: no "+80", "8_0" or " 80"
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number")
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..65535")
    return value


def _bounded(text: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", text):  # ASCII digits only, as for --port
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    value = int(text)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
    return value


def _workers(text: str) -> int:
    from rooms_kit.reference_server.workers import MAX_WORKERS  # noqa: PLC0415

    return _bounded(text, 1, MAX_WORKERS)


def _pool_size(text: str) -> int:
    return _bounded(text, 1, 1000)


def _positive(kind: type[int] | type[float], most: float) -> Any:
    """A number above 0 and at most ``most`` (the limits must stay limits)."""

    def parse(text: str) -> int | float:
        pattern = r"[0-9]{1,12}" if kind is int else r"[0-9]{1,6}(\.[0-9]{1,3})?"
        if not re.fullmatch(pattern, text) or kind(text) <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
        if kind(text) > most:
            raise argparse.ArgumentTypeError(f"{text} is more than the largest allowed, {most:.0f}")
        return kind(text)

    return parse


def migrate_timeout(flag: str, parser: argparse.ArgumentParser) -> None:
    """The bound of each PostgreSQL migration step (``db upgrade``, ``serve --migrate``)."""
    parser.add_argument(
        flag,
        type=_positive(float, MAX_MIGRATE_SECONDS),
        default=MIGRATE_SECONDS,
        metavar="SECONDS",
        help="seconds each statement of a PostgreSQL migration step may run before the step "
        "is cancelled and rolled back, and the wait for another upgrade's lock may last "
        f"(default {MIGRATE_SECONDS:g}; at most {MAX_MIGRATE_SECONDS})",
    )


def database_argument(parser: argparse.ArgumentParser) -> None:
    """``--database``, checked while parsing (``database_option``), for every command using one."""
    parser.add_argument(
        "--database",
        type=database,
        default=DEFAULT_DATABASE,
        help=f"{DATABASE_HELP} (default {DEFAULT_DATABASE})",
    )


def _token_file(text: str) -> Path:
    """``--tokens``: refused at once when it cannot be a token file (see ``token_file_problem``)."""
    from rooms_kit.reference_server.auth import token_file_problem  # noqa: PLC0415

    path = Path(text)
    problem = token_file_problem(path)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text}: {problem}")
    return path


def _application_id(text: str) -> str:
    """Copied into every room: 1 to 256 printable characters, no control characters."""
    if not 1 <= len(text) <= MAX_APPLICATION_ID or not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"must be 1 to {MAX_APPLICATION_ID} printable characters (no line breaks or other "
            "control characters)"
        )
    return text


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the reference server (rooms kept in SQLite or PostgreSQL)",
        description=f"Run the reference implementation of the rooms API ({doc_path('room-lifecycle.md')}). "
        "Bearer tokens come from --tokens and from the database ('rooms-kit tokens add'); "
        "--dev-tokens instead lets the token dev-<playerId> stand for that player. The first "
        "server on a database records which of the two it uses, and later servers must agree. "
        "Logs are JSON lines on stderr.",
    )
    serve.add_argument(
        "--host", type=listen_host, default=DEFAULT_HOST, help="address to bind (default: loopback)"
    )
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="port (default 8080; 0 picks a free one)"
    )
    database_argument(serve)
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="server processes sharing the port (default 1; more need a file or PostgreSQL)",
    )
    serve.add_argument(
        "--migrate",
        action="store_true",
        help="bring the database layout up to date before serving (like rooms-kit db upgrade)",
    )
    migrate_timeout("--migrate-timeout", serve)
    serve.add_argument(
        "--pool-size",
        type=_pool_size,
        help="PostgreSQL connections per worker process (default 10)",
    )
    auth = serve.add_mutually_exclusive_group()
    auth.add_argument(
        "--tokens", type=_token_file, help="JSON file mapping each bearer token to a player id"
    )
    auth.add_argument(
        "--dev-tokens",
        action="store_true",
        help="development mode: dev-<playerId> signs in as that player (never expose this)",
    )
    serve.add_argument(
        "--application-id",
        type=_application_id,
        help="applicationId of every room (default rooms-kit-reference)",
    )
    serve.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every reply against the schemas (slower; for development)",
    )
    _limit_arguments(serve)
    serve.set_defaults(handler=_run_serve)

    tokens = subparsers.add_parser("tokens", help="manage bearer tokens in the server's database")
    nested = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)
    add = nested.add_parser(
        "add", help="store a token for a player (a new random one is printed; --token T is not)"
    )
    add.add_argument("player_id", help="the player the token stands for")
    database_argument(add)
    add.add_argument(
        "--token",
        help="the token to store, never echoed (default: a new random one, printed once)",
    )
    tokens.set_defaults(handler=_run_tokens)


def _limit_arguments(serve: argparse.ArgumentParser) -> None:
    limits = serve.add_argument_group('limits (README, "Security")')
    limits.add_argument(
        "--max-body-bytes", type=byte_size(MAX_BODY_BYTES), default=1024 * 1024, metavar="SIZE",
        help="largest request body, in bytes or with K, M or G; longer ones get 413 (default 1M; "
        "at most 64M)",
    )  # fmt: skip
    limits.add_argument(
        "--max-connections", type=_positive(int, MAX_CONNECTIONS), default=1000,
        help="open connections at most (default 1000, lowered to fit the descriptor limit)",
    )  # fmt: skip
    limits.add_argument(
        "--header-timeout", type=_positive(float, MAX_SECONDS), default=10.0,
        help="seconds a request's headers may take to arrive (default 10)",
    )  # fmt: skip
    limits.add_argument(
        "--body-timeout", type=_positive(float, MAX_SECONDS), default=30.0,
        help="seconds a request's body may take once its headers are in (default 30)",
    )  # fmt: skip
    limits.add_argument(
        "--write-timeout", type=_positive(float, MAX_SECONDS), default=30.0,
        help="seconds writing an answer may stay stalled by a client that does not read "
        "(default 30)",
    )  # fmt: skip
    limits.add_argument(
        "--keep-alive-timeout", type=_positive(int, MAX_SECONDS), default=5,
        help="seconds an idle connection is kept open between requests (default 5)",
    )  # fmt: skip


def _run_serve(args: argparse.Namespace) -> int:
    from rooms_kit.reference_server.limits import ConnectionLimits  # noqa: PLC0415
    from rooms_kit.reference_server.serving import serve  # noqa: PLC0415 - heavy imports

    return serve(
        host=args.host,
        port=args.port,
        database=args.database,
        tokens=args.tokens,
        dev_tokens=args.dev_tokens,
        application_id=args.application_id,
        validate_responses=args.validate_responses,
        workers=args.workers,
        migrate=args.migrate,
        migrate_seconds=args.migrate_timeout,
        pool_size=args.pool_size,
        max_body_bytes=args.max_body_bytes,
        limits=ConnectionLimits(
            max_connections=args.max_connections,
            header_timeout=args.header_timeout,
            body_timeout=args.body_timeout,
            write_timeout=args.write_timeout,
            keep_alive_timeout=args.keep_alive_timeout,
        ),
    )


def _run_tokens(args: argparse.Namespace) -> int:
    from rooms_kit.reference_server.auth import (  # noqa: PLC0415
        DEVELOPMENT_MODE,
        PLAYER_ID,
        token_digest,
    )
    from rooms_kit.reference_server.stores import describe, open_store  # noqa: PLC0415

    if not PLAYER_ID.fullmatch(args.player_id):
        shown = args.player_id if len(args.player_id) <= 80 else args.player_id[:77] + "..."
        raise KitError(f"a player id is 1 to 64 letters, digits, '.', '_' or '-', got {shown!r}")
    if args.token is not None and not USABLE_TOKEN.fullmatch(args.token):
        # Never echo the token: it is a secret.
        raise KitError(
            f"--token must be 1 to {MAX_TOKEN_CHARS} visible ASCII characters without spaces "
            "(it travels in an 'Authorization: Bearer' header, which drops surrounding spaces); "
            "leave --token out for a random one"
        )
    if args.database == MEMORY:
        raise KitError(
            "--database :memory: ends with this command, so the token would be lost at once; "
            "give the file or postgresql:// address the server will use"
        )
    token = args.token if args.token is not None else secrets.token_urlsafe(32)
    store = open_store(args.database)
    try:
        if store.auth_mode() == DEVELOPMENT_MODE:
            raise KitError(
                f"{describe(args.database)} is recorded in development mode (--dev-tokens), where stored "
                "tokens are never consulted; serve another database for real tokens"
            )
        if args.token is None:
            # A new token is shown before it is stored: when standard output fails, nothing
            # is stored, rather than a token nobody ever saw that signs a player in. A reader
            # gone early (a broken pipe) is a failure here too: the token was never seen.
            try:
                print(token, flush=True)
            except BrokenPipeError:
                nowhere = os.open(os.devnull, os.O_WRONLY)
                os.dup2(nowhere, sys.stdout.fileno())  # the exit's own flush must not fail
                os.close(nowhere)
                raise KitError(
                    "cannot write to standard output: the reader has gone (broken pipe); the "
                    "new token was not stored"
                ) from None
        owner = store.add_token_digest(token_digest(token), args.player_id)
    finally:
        store.close()
    if owner != args.player_id:
        # Neither the token (a secret) nor its player is named: the refusal must not tell
        # whoever guessed a token whose it is.
        print(f"rooms-kit: error: {TOKEN_TAKEN}", file=sys.stderr)
        return EXIT_TOKEN_TAKEN
    return 0  # a token given with --token is never echoed: the caller has it already

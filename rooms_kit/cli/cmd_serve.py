"""``rooms-kit serve``: the reference server; ``rooms-kit tokens add``: a token in its database."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import Any

from rooms_kit.cli.doclinks import doc_path
from rooms_kit.errors import KitError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_DATABASE = "rooms.db"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..65535")
    return value


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the reference server (room lifecycle kept in SQLite)",
        description=f"Run the reference implementation of the rooms API ({doc_path('room-lifecycle.md')}). "
        "Bearer tokens come from --tokens and from the database ('rooms-kit tokens add'); "
        "--dev-tokens instead lets the token dev-<playerId> stand for that player. The first "
        "server on a database records which of the two it uses, and later servers must agree. "
        "Logs are JSON lines on stderr.",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default: loopback)")
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="port (default 8080; 0 picks a free one)"
    )
    serve.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help="SQLite file, created when missing, or :memory: (default rooms.db)",
    )
    auth = serve.add_mutually_exclusive_group()
    auth.add_argument(
        "--tokens", type=Path, help="JSON file mapping each bearer token to a player id"
    )
    auth.add_argument(
        "--dev-tokens",
        action="store_true",
        help="development mode: dev-<playerId> signs in as that player (never expose this)",
    )
    serve.add_argument(
        "--application-id", help="applicationId of every room (default rooms-kit-reference)"
    )
    serve.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every reply against the schemas (slower; for development)",
    )
    serve.set_defaults(handler=_run_serve)

    tokens = subparsers.add_parser("tokens", help="manage bearer tokens in the server's database")
    nested = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)
    add = nested.add_parser("add", help="store a token for a player and print the token")
    add.add_argument("player_id", help="the player the token stands for")
    add.add_argument("--database", default=DEFAULT_DATABASE, help="SQLite file (default rooms.db)")
    add.add_argument("--token", help="the token to store (default: a new random one)")
    tokens.set_defaults(handler=_run_tokens)


def _run_serve(args: argparse.Namespace) -> int:
    from rooms_kit.reference_server.serving import serve  # noqa: PLC0415 - heavy imports

    serve(
        host=args.host,
        port=args.port,
        database=args.database,
        tokens=args.tokens,
        dev_tokens=args.dev_tokens,
        application_id=args.application_id,
        validate_responses=args.validate_responses,
    )
    return 0


def _run_tokens(args: argparse.Namespace) -> int:
    from rooms_kit.reference_server.auth import (  # noqa: PLC0415
        DEVELOPMENT_MODE,
        PLAYER_ID,
        token_digest,
    )
    from rooms_kit.reference_server.sqlite_store import SqliteStore  # noqa: PLC0415

    if not PLAYER_ID.fullmatch(args.player_id):
        raise KitError("a player id is 1 to 64 letters, digits, '.', '_' or '-'")
    token = args.token or secrets.token_urlsafe(32)
    store = SqliteStore(args.database)
    try:
        if store.auth_mode() == DEVELOPMENT_MODE:
            raise KitError(
                f"{args.database} is recorded in development mode (--dev-tokens), where stored "
                "tokens are never consulted; serve another database for real tokens"
            )
        store.add_token_digest(token_digest(token), args.player_id)
    finally:
        store.close()
    print(token)
    return 0

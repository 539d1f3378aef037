"""``rooms-kit proxy``: a checking (and recording) proxy between real clients and a server."""

from __future__ import annotations

import argparse
from typing import Any

from rooms_kit.cli.arguments import (
    byte_size,
    file_to_write,
    folder_to_write,
    http_url,
    listen_host,
)

DESCRIPTION = """\
Forward every request unchanged to an implementation of the rooms API and check every answer
with the contract suite's per-exchange checks (schemas, int64 strings, error envelope,
documented status, content type) and, per room, the lifecycle rules traffic can show (the
version only grows, only participants see a room, invitations are listed until dismissed or
declined). Each violation is printed as it happens, one line each. SIGINT or SIGTERM stops the
proxy; it then prints the verdict and writes the reports.

Tokens never reach a file or a log: each bearer token (and oauth_token) becomes a player alias,
player-1, player-2, ... in order of first appearance.
"""

EPILOG = """\
exit status:
  0  no violation was seen
  1  at least one violation was seen
  2  the proxy could not run (bad usage, the address is taken, the recording cannot be written)
     or could not judge every exchange (a defect of rooms-kit, said on standard error)

examples:
  rooms-kit proxy --upstream http://127.0.0.1:8080 --port 8081 --report-dir build/proxy
  rooms-kit proxy --upstream http://127.0.0.1:8080 --record traffic.ndjson.gz --rotate-bytes 100M
"""

MAX_BODY_LIMIT = 1024**3  # --max-request-bytes and --max-response-bytes stay bounds
_size = byte_size(None)
_body_size = byte_size(MAX_BODY_LIMIT)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 3600, got {text}")
    return value


def _port(text: str) -> int:
    from rooms_kit.cli.cmd_serve import _port as port  # noqa: PLC0415

    return port(text)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "proxy",
        help="check (and record) real traffic between clients and a server",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--upstream", type=http_url, required=True, help="base URL of the server to check"
    )
    parser.add_argument(
        "--host", type=listen_host, default="127.0.0.1", help="address to bind (default: loopback)"
    )
    parser.add_argument(
        "--port", type=_port, default=8081, help="port (default 8081; 0 picks a free one)"
    )
    parser.add_argument(
        "--record",
        type=file_to_write,
        metavar="FILE",
        help="write every exchange to this NDJSON file (gzip-compressed when it ends in .gz)",
    )
    parser.add_argument(
        "--rotate-bytes",
        type=_size,
        metavar="SIZE",
        help="go on in a second file (t.ndjson: t-2.ndjson, t-3.ndjson ...) once a file holds SIZE "
        "uncompressed bytes (e.g. 100M)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="answer 502 (Google's error envelope, naming the violation) instead of a violating "
        "answer, so a client's own tests fail on it",
    )
    parser.add_argument(
        "--report-dir",
        type=folder_to_write,
        help="write report.txt, junit.xml and report.html here at stop",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="time the upstream has for a whole answer (30); later: 504 and a violation",
    )
    parser.add_argument(
        "--max-response-bytes",
        type=_body_size,
        default=8 * 1024 * 1024,
        metavar="SIZE",
        help="largest answer checked, raw or decompressed (8M); larger: cut off and a violation",
    )
    parser.add_argument(
        "--max-held-bytes",
        type=_size,
        default=256 * 1024 * 1024,
        metavar="SIZE",
        help="answers kept for checking at one time, all exchanges together (256M); beyond: "
        "forwarded unchecked (strict: 503)",
    )
    parser.add_argument(
        "--max-request-bytes",
        type=_body_size,
        default=1024 * 1024,
        metavar="SIZE",
        help="largest request body forwarded (1M); larger: 413 from the proxy",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from rooms_kit.errors import KitError  # noqa: PLC0415
    from rooms_kit.traffic.checking import Limits  # noqa: PLC0415
    from rooms_kit.traffic.serving import ProxySettings, run_proxy  # noqa: PLC0415

    if args.rotate_bytes is not None and args.record is None:
        raise KitError("--rotate-bytes needs --record FILE")
    settings = ProxySettings(
        upstream=args.upstream,
        host=args.host,
        port=args.port,
        strict=args.strict,
        record=args.record,
        rotate_bytes=args.rotate_bytes,
        report_dir=args.report_dir,
        limits=Limits(
            seconds=args.timeout,
            max_request_bytes=args.max_request_bytes,
            max_response_bytes=args.max_response_bytes,
            max_held_bytes=args.max_held_bytes,
        ),
    )
    return run_proxy(settings)

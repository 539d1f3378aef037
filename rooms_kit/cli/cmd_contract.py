"""``rooms-kit contract``: run the contract suite against an implementation of the rooms API."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rooms_kit.cli.arguments import (
    TOO_FEW_TOKENS,
    byte_size,
    folder_to_write,
    http_url,
    positive_number,
    size_text,
    whole_number,
)
from rooms_kit.errors import KitError

# The suite's fixed default seed (rooms_kit.contract.runner.DEFAULT_SEED; a test keeps them equal),
# spelt out here so that --help does not import the suite. The same goes for the bounds
# (rooms_kit.contract.bounded), also kept equal by a test.
DEFAULT_SEED_TEXT = "20200331"
DEFAULT_REQUEST_TIMEOUT = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024


# Upper bounds of the numeric options: a typo such as 1e9 must not switch a bound off.
MAX_SECONDS = 24 * 3600.0
MAX_RESPONSE_BYTES_LIMIT = 1024**3

# The profiles (rooms_kit.contract.profiles.PROFILES, kept equal by a test), and the parsers of the
# options that ``pytest contract_tests`` shares with this command, so both refuse the same values
# in the same words.
PROFILE_NAMES = ("smoke", "full")
SECONDS = positive_number(float, MAX_SECONDS)
SEED = whole_number


DESCRIPTION = """\
Check an implementation of the rooms API: response shapes (openapi.json and the strict
schemas, int64 strings), content types, error envelopes, negative requests, behaviour
scenarios, and generated requests including chains through the OpenAPI links.
Two or more tokens stand for different players (an inviter and an invitee).
"""

EPILOG = """\
bounds:
  every request has --request-timeout seconds to connect and answer in full (a slow drip counts);
  bodies are read up to --max-response-bytes after decompression, headers up to 100 fields and
  64 KiB, JSON up to 512 levels deep; the whole run stops at --max-time (default 80 s for smoke,
  900 s for full) and reports what it saw with a run_deadline failure.

exit status:
  0  the implementation is conformant: every check passed
  1  contract failures were found (each is printed with its request, response and a curl
     command), including a run stopped by its deadline (run_deadline)
  2  the suite could not run: bad usage, fewer than two tokens, server unreachable, or nothing
     could be checked before the deadline

examples:
  rooms-kit contract --reference                      # start the bundled reference server
  rooms-kit contract --url http://127.0.0.1:8080 --token dev-alice --token dev-bob
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "contract",
        help="run the contract suite against a server (or the bundled reference server)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--url", type=http_url, help="base URL of the server, e.g. http://127.0.0.1:8080"
    )
    where.add_argument(
        "--reference",
        action="store_true",
        help="start the reference server on a free loopback port with a fresh database "
        "(development mode; tokens default to dev-alice, dev-bob, dev-carol), then stop it",
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="bearer token of one player; repeat it: at least two, each for a different player",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        default="full",
        help="smoke: under a minute; full (default): more generated requests, a few minutes",
    )
    parser.add_argument(
        "--seed",
        type=SEED,
        help=f"seed for generated data (default {DEFAULT_SEED_TEXT}; printed on every run)",
    )
    parser.add_argument(
        "--request-timeout",
        type=SECONDS,
        default=DEFAULT_REQUEST_TIMEOUT,
        metavar="SECONDS",
        help="time each request has to connect and deliver its whole answer "
        f"(default {DEFAULT_REQUEST_TIMEOUT:g}); slower is a responds_in_time failure",
    )
    parser.add_argument(
        "--max-time",
        type=SECONDS,
        metavar="SECONDS",
        help="deadline of the whole run (default: 80 for smoke, 900 for full); the run then "
        "stops, reports what it saw and fails run_deadline",
    )
    parser.add_argument(
        "--max-response-bytes",
        type=byte_size(MAX_RESPONSE_BYTES_LIMIT),
        default=DEFAULT_MAX_RESPONSE_BYTES,
        metavar="SIZE",
        help="largest body read after decompression, in bytes or with K, M or G (default "
        f"{size_text(DEFAULT_MAX_RESPONSE_BYTES)}); larger is a response_size failure",
    )
    parser.add_argument(
        "--report-dir",
        type=folder_to_write,
        help="also write report.txt, junit.xml and report.html into this folder",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from rooms_kit.contract import DEFAULT_SEED, CannotRun, Target, run_suite  # noqa: PLC0415
    from rooms_kit.contract.bounded import Limits  # noqa: PLC0415
    from rooms_kit.contract.reference import DEVELOPMENT_TOKENS, reference_server  # noqa: PLC0415
    from rooms_kit.contract.report import render_html, render_junit, render_text  # noqa: PLC0415
    from rooms_kit.contract.secrets import Secrets  # noqa: PLC0415

    tokens: list[str] = list(args.token)
    if args.reference and not tokens:
        tokens = list(DEVELOPMENT_TOKENS)
    if len(tokens) < 2:
        raise KitError(f"{TOO_FEW_TOKENS}, one per player (see --help)")
    seed = DEFAULT_SEED if args.seed is None else args.seed
    print(f"rooms-kit contract: profile {args.profile}, seed {seed}", file=sys.stderr)

    def progress(unit: Any) -> None:
        mark = "FAIL" if unit.failures else "ok"
        print(f"  {mark:4} {unit.name} ({unit.seconds:.1f} s)", file=sys.stderr)

    limits = Limits(
        request_timeout=args.request_timeout, max_response_bytes=args.max_response_bytes
    )
    options: dict[str, Any] = {
        "seed": seed,
        "profile": args.profile,
        "progress": progress,
        "limits": limits,
        "max_time": args.max_time,
    }
    try:
        if args.reference:
            with reference_server() as base_url:
                print(f"rooms-kit contract: reference server at {base_url}", file=sys.stderr)
                results = run_suite(Target.url(base_url), tokens, **options)
        else:
            results = run_suite(Target.url(args.url), tokens, **options)
    except CannotRun as exc:  # its reproductions name the tokens by number; so must the rest
        raise KitError(Secrets.of(tokens).scrub(str(exc))) from None
    text = render_text(results)
    whole_in = (
        "--report-dir keeps it whole"
        if args.report_dir is None
        else f"the whole command is in {args.report_dir / 'report.txt'}"
    )
    sys.stdout.write(render_text(results, whole_commands_in=whole_in))
    if args.report_dir is not None:
        try:
            args.report_dir.mkdir(parents=True, exist_ok=True)
            (args.report_dir / "report.txt").write_text(text, encoding="utf-8")
            (args.report_dir / "junit.xml").write_text(render_junit(results), encoding="utf-8")
            (args.report_dir / "report.html").write_text(render_html(results), encoding="utf-8")
        except OSError as exc:
            raise KitError(
                f"cannot write the reports to {args.report_dir}: {exc.strerror}"
            ) from None
        print(f"rooms-kit contract: reports in {args.report_dir}", file=sys.stderr)
    if results.nothing_checked:
        print("rooms-kit contract: nothing could be checked before the deadline", file=sys.stderr)
    return results.exit_status

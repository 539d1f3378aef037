"""``rooms-kit replay``: re-send a recording to another implementation and compare the answers."""

from __future__ import annotations

import argparse
from typing import Any

from rooms_kit.cli.arguments import folder_to_write, http_url, sendable_token

DESCRIPTION = """\
Re-send the exchanges of a rooms-kit proxy recording, in their order, to another implementation
of the rooms API, each with the real token of its player alias. Room ids, participant ids, player
ids and page tokens the new server makes up are mapped as they appear; every create requestId is
replaced by a fresh one. Every answer is compared with the recorded one: equal status, equal body
apart from timestamps, and for errors the same code and reasons. Each difference is printed as it
is found; --report-dir adds report.txt (both bodies side by side) and junit.xml.
"""

EPILOG = """\
exit status:
  0  every answer matches the recording
  1  at least one answer differs
  2  the replay could not run (bad usage, unreadable recording, a player alias without a token,
     nothing to replay: no exchange to a rooms API operation in the files, a server that
     refused the connection before anything answered)

a token for a player the recording never uses is a warning on standard error, not an error.

example:
  rooms-kit replay traffic.ndjson.gz --url http://127.0.0.1:9090 \\
      --token player-1=TOKEN-OF-ALICE --token player-2=TOKEN-OF-BOB
"""


class _TokenPairs(argparse.Action):
    """``--token``, repeatable: a value that is not ``ALIAS=TOKEN`` with an alias of the form the
    proxy writes (``player-1`` …) is a usage error at once, without echoing it (a bare token
    such as ``dGVzdA==`` would otherwise be taken for the alias ``dGVzdA``, printed later); one
    player given two different tokens is one too (whichever came last would win, and every
    answer would look different); the same pair twice is taken once."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        from rooms_kit.traffic.replaying import not_a_pair, two_tokens  # noqa: PLC0415

        pairs: list[str] = list(getattr(namespace, self.dest, None) or [])
        given = getattr(namespace, "_tokens_given", 0) + 1  # its place among the --token
        setattr(namespace, "_tokens_given", given)  # noqa: B010
        problem = not_a_pair(str(values), given)
        if problem is not None:
            raise argparse.ArgumentError(self, problem)
        alias, _, token = str(values).partition("=")
        for earlier in pairs:
            other_alias, _, other_token = earlier.partition("=")
            if other_alias == alias and other_token != token:
                raise argparse.ArgumentError(self, two_tokens(alias))
        if values not in pairs:
            pairs.append(values)
        setattr(namespace, self.dest, pairs)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a recording against another server and report every difference",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="recording files, in order (the files of a rotated recording in the order written)",
    )
    parser.add_argument(
        "--url", type=http_url, required=True, help="base URL of the server to replay against"
    )
    parser.add_argument(
        "--token",
        action=_TokenPairs,
        default=[],
        metavar="ALIAS=TOKEN",
        help="the real token for a player alias of the recording (player-1, player-2 …, as "
        "the proxy wrote them); repeat for each player",
    )
    parser.add_argument(
        "--report-dir",
        type=folder_to_write,
        help="write report.txt and junit.xml into this folder",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="time the server has for each whole answer (30)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from rooms_kit.errors import KitError  # noqa: PLC0415
    from rooms_kit.traffic.checking import Limits, check_base_url  # noqa: PLC0415
    from rooms_kit.traffic.replaying import parse_tokens, run_replay  # noqa: PLC0415

    if not 0 < args.timeout <= 3600:
        raise KitError("--timeout must be above 0 and at most 3600 seconds")
    url = check_base_url(args.url, "--url")
    tokens = parse_tokens(args.token)
    for alias, token in tokens.items():
        if not sendable_token(token):  # never echo the token: it is a secret
            raise KitError(
                f"--token {alias}=…: the token cannot be sent in an 'Authorization: Bearer' "
                "header (1 to 8192 visible ASCII characters, without spaces)"
            )
    return run_replay(
        list(args.files),
        url,
        tokens,
        report_dir=args.report_dir,
        limits=Limits(seconds=args.timeout),
    )

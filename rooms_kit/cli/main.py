"""The ``rooms-kit`` command: one sub-command per module in this package.

Each ``cmd_*`` module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` to a function taking the parsed arguments and returning the exit status. Errors of
the kit (``KitError``) are printed here, once, without a traceback.

Exit statuses shared by every sub-command: 0 success, 1 the checked thing is wrong (invalid
documents, stale output, contract failures), 2 the tool could not do its job (bad usage, unreadable
input, broken schemas), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rooms_kit.errors import KitError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    from rooms_kit.cli import commands  # noqa: PLC0415 - keeps start-up light

    parser = argparse.ArgumentParser(
        prog="rooms-kit",
        description="Schemas, validation, code generation, a reference server and contract tests "
        "for the Play Games Services v1 rooms API.",
        epilog="exit status: 0 success, 1 something checked is wrong, 2 the tool could not run.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in commands.MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except KitError as exc:
        print(f"rooms-kit: error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("rooms-kit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    return status


if __name__ == "__main__":
    sys.exit(main())

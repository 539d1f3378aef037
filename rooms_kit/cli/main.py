"""The ``rooms-kit`` command: one sub-command per module in this package.

Each ``cmd_*`` module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` to a function taking the parsed arguments and returning the exit status. Errors of
the kit (``KitError``) are printed here, once, without a traceback.

Exit statuses shared by every sub-command: 0 success, 1 the checked thing is wrong (invalid
documents, stale output, contract failures), 2 the tool could not do its job (bad usage, unreadable
input, broken schemas, a missing extra), 130 interrupted.

Sub-commands that need an optional part of the package name it in ``NEEDS_EXTRA``; when one of its
modules is missing the command stops with exit 2 and the ``pip install`` line that adds it.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from rooms_kit.errors import KitError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130

DISTRIBUTION = "games-rooms-kit"

# What the [validate] extra brings; every other extra includes it.
VALIDATE_MODULES = ("jsonschema", "jsonschema_rs", "msgspec", "orjson", "referencing")
SERVER_MODULES = (*VALIDATE_MODULES, "starlette", "uvicorn")

# sub-command -> (extra, modules it imports from that extra); ``--version`` needs none
NEEDS_EXTRA: dict[str, tuple[str, tuple[str, ...]]] = {
    "schemas": ("validate", VALIDATE_MODULES),
    "example": ("validate", VALIDATE_MODULES),
    "validate": ("validate", VALIDATE_MODULES),
    "replay": ("validate", VALIDATE_MODULES),
    "generate": ("generate", (*VALIDATE_MODULES, "jinja2", "datamodel_code_generator", "ruff")),
    "serve": ("server", SERVER_MODULES),
    "tokens": ("server", SERVER_MODULES),
    "db": ("server", SERVER_MODULES),
    "proxy": ("server", (*SERVER_MODULES, "httptools")),
    "contract": ("contract", (*SERVER_MODULES, "schemathesis")),
}


def version() -> str:
    """The installed distribution's version (or the source tree's, when not installed)."""
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415
    from importlib.metadata import version as installed_version  # noqa: PLC0415

    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed)"


def missing_extra(command: str) -> str | None:
    """The error message when ``command`` needs modules that are not installed, else None."""
    extra, modules = NEEDS_EXTRA.get(command, ("", ()))
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"`rooms-kit {command}` needs the [{extra}] extra, which is not installed "
        f"(missing: {', '.join(missing)}); install it with: "
        f"pip install '{DISTRIBUTION}[{extra}]'"
    )


class KitParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors never quote a value it could not place: a
    mistyped option (``--databse URL``) or a stray word may be a password or a token. Option
    names are still shown, cut at any ``=``. Sub-command parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        super().error(_unquoted(message))


_UNRECOGNIZED = "unrecognized arguments: "
_AMBIGUOUS = re.compile(r"(ambiguous option: -[^=\s]*)=\S*")


def _unquoted(message: str) -> str:
    if message.startswith(_UNRECOGNIZED):
        words = message[len(_UNRECOGNIZED) :].split(" ")
        names = [w.split("=", 1)[0] for w in words if w.startswith("-") and len(w) > 1]
        hidden = len(words) - len(names) + sum("=" in w for w in words if w.startswith("-"))
        shown = " ".join(names)
        if hidden:
            values = "value" if hidden == 1 else "values"
            shown += f"{' and ' if names else ''}{hidden} {values} (not shown: one may be a secret)"
        return _UNRECOGNIZED + shown
    return _AMBIGUOUS.sub(r"\1=…", message)


def build_parser() -> argparse.ArgumentParser:
    from rooms_kit.cli import commands  # noqa: PLC0415 - keeps start-up light

    parser = KitParser(
        prog="rooms-kit",
        description="Schemas, validation, code generation, a reference server and contract tests "
        "for the Play Games Services v1 rooms API.",
        epilog="exit status: 0 success, 1 something checked is wrong, 2 the tool could not run.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version()}", help="print the version"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in commands.MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from rooms_kit.cli.streams import guarded_stdout  # noqa: PLC0415

    try:
        with guarded_stdout():  # --help and --version print too
            return _run(argv)
    except KitError as exc:
        print(f"rooms-kit: error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("rooms-kit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except ImportError:
        # An option's check may import from an extra while parsing (replay's --token does):
        # a missing extra is then named as it is after parsing.
        command = next((a for a in (sys.argv[1:] if argv is None else argv) if a[:1] != "-"), "")
        problem = missing_extra(command)
        if problem is None:
            raise
        print(f"rooms-kit: error: {problem}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    problem = missing_extra(args.command)
    if problem is not None:
        print(f"rooms-kit: error: {problem}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""``rooms-kit generate``: write the ``rooms_api`` package from the schemas, or check it is up to date.

In a checkout of the kit the default output is its ``generated/``; an installed kit needs
``--output DIR`` and never writes into site-packages (``rooms_kit.codegen.output``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DIFF_LINES_SHOWN = 40


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate the rooms_api package (OpenAPI, discovery, models, client, server stub)",
        description="Render the rooms_api package (into OUTPUT/rooms_api) from the schemas. With "
        "--check, write nothing and exit 1 when the folder differs from what the schemas produce. "
        "Needs the [generate] extra: pip install 'games-rooms-kit[generate]'.",
    )
    parser.add_argument(
        "--check", action="store_true", help="only compare with the folder; exit 1 when stale"
    )
    parser.add_argument(
        "--schemas", type=Path, default=None, help="schemas folder (default: the kit's own)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="output folder; required unless run from a checkout of the kit (default there: generated/)",
    )
    parser.set_defaults(handler=_run)


# What writing did to each file that differed (``--check`` words the same differences as problems).
WRITTEN = {"missing": "created", "stale": "updated", "extra": "removed"}


def _run(args: argparse.Namespace) -> int:
    from rooms_kit.codegen import generate  # noqa: PLC0415 - keeps other commands light
    from rooms_kit.codegen.emit import compare, write  # noqa: PLC0415
    from rooms_kit.codegen.output import (  # noqa: PLC0415
        OutputError,
        regenerate_hint,
        resolve_output,
    )

    out_dir = resolve_output(args.output)
    files = generate(args.schemas)
    if args.check:
        differences = compare(files, out_dir)
        if not differences:
            print(f"{out_dir}: up to date ({len(files)} files)")
            return 0
        print(
            f"{out_dir} is stale: {len(differences)} of the generated files differ", file=sys.stderr
        )
        for difference in differences:
            print(f"  {difference.summary()}", file=sys.stderr)
        for difference in differences:
            lines = difference.diff.splitlines()
            if lines:
                print("", file=sys.stderr)
                print("\n".join(lines[:DIFF_LINES_SHOWN]), file=sys.stderr)
                if len(lines) > DIFF_LINES_SHOWN:
                    print(f"... ({len(lines) - DIFF_LINES_SHOWN} more diff lines)", file=sys.stderr)
        print(regenerate_hint(args.output), file=sys.stderr)
        return 1
    try:
        changes = write(files, out_dir)
    except OSError as exc:
        raise OutputError(f"cannot write into {out_dir}: {exc.strerror} ({exc.filename})") from None
    for change in changes:
        print(f"  {WRITTEN[change.change]:<7} {change.path}")
    print(f"{out_dir}: {len(changes)} files changed, {len(files)} generated")
    return 0

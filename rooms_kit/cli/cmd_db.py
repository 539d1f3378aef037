"""``rooms-kit db upgrade``: bring a database's layout up to the version this rooms-kit uses.

PostgreSQL layouts are versioned (``rooms_kit.reference_server.postgres_schema``); each missing
step is applied once, and a database newer than this code is refused (exit 2). Each step, and the
wait for another upgrade's lock, is bounded by ``--timeout``; the other statements by the 40 s of
every statement sent from a thread. A SQLite file is created at the current layout by opening
it, which is all this command does for one.
"""

from __future__ import annotations

import argparse
from typing import Any

from rooms_kit.cli.cmd_serve import database_argument, migrate_timeout


def register(subparsers: Any) -> None:
    db = subparsers.add_parser("db", help="manage the reference server's database")
    nested = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = nested.add_parser(
        "upgrade",
        help="apply the missing layout versions (refuses a database newer than this code)",
        description="Bring the database layout up to this rooms-kit's version. Safe to run "
        "again, and from several hosts at once.",
    )
    database_argument(upgrade)
    migrate_timeout("--timeout", upgrade)
    db.set_defaults(handler=_run_upgrade)


def _run_upgrade(args: argparse.Namespace) -> int:
    from rooms_kit.reference_server.stores import describe, upgrade  # noqa: PLC0415

    before, after = upgrade(args.database, step_seconds=args.timeout)
    where = describe(args.database)
    if before == after:
        print(f"{where}: layout version {after}, up to date")
    else:
        print(f"{where}: layout version {before} -> {after}")
    return 0

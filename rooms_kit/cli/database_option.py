"""``--database`` of ``serve``, ``db upgrade`` and ``tokens add``, checked while parsing.

The stores read the value this way (``rooms_kit.reference_server.stores``): a value starting with
``postgresql://`` or ``postgres://`` (lower case, as libpq wants it) is a PostgreSQL address,
``:memory:`` is a SQLite database that lives as long as the process, and anything else is a SQLite
file, created when missing. Without this check a typo was only found when the store opened,
with SQLite's terse "unable to open database file", or not at all: ``mysql://host/db`` named a
file in a folder ``mysql:`` and ``file:rooms.db`` was taken as a SQLite URI.

Only what can be told without opening anything is checked here; whether the file really is a
SQLite database, or the server answers, is still the store's to say. This module imports nothing
from the server, so that a missing [server] extra is still reported as such.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
from pathlib import Path

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
"""The same prefixes as ``stores.POSTGRES_SCHEMES`` (a test keeps the two equal)."""
MEMORY = ":memory:"
ACCEPTED = "a SQLite file path, :memory:, or a postgresql:// (or postgres://) address"
HELP = (
    "SQLite file (created when missing, in a folder that exists), :memory: (gone when the "
    "process ends), or a postgresql://user@host/name address"
)

# Something that looks like a URL scheme followed by "//"; a path meant literally can start
# with "./" instead.
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# SQLite reads "file:..." as a URI (this build does), and sqlite: is what other tools call it.
_SQLITE_URL = re.compile(r"(?i)(sqlite3?|file):")
# A PostgreSQL address with the scheme in the wrong case or without its two slashes: the stores
# and libpq would take it for a file name and a key=value string.
_NEAR_POSTGRES = re.compile(r"(?i)postgres(ql)?:/*")


def database(text: str) -> str:
    """The ``type=`` of every ``--database``: ``text`` unchanged, or ``ArgumentTypeError``."""
    problem = _problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


# What may hold a password, so is never shown: anything naming postgres, a user before an "@"
# of an address, or a libpq key=value string.
_SECRETIVE = re.compile(r"(?i)postgres|password|://[^/]*@|[^/\s]+:[^/\s]*@|\b[a-z_]+\s*=")
# A libpq key=value connection string (host=... dbname=...), which libpq would take but the
# stores would read as a SQLite file name.
_KEY_VALUE = re.compile(
    r"(?i)(?:^|\s)(?:host|hostaddr|port|dbname|user|password|passfile|sslmode|service)\s*="
)
KEY_VALUE = (
    "this looks like a libpq key=value connection string (host=... dbname=...), which is not "
    "read; give a postgresql://user@host:port/name address (the value is not shown, since it may "
    "hold a password)"
)


def _problem(text: str) -> str | None:
    if not text:
        return f"the value is empty; give {ACCEPTED}"
    if _KEY_VALUE.search(text):
        return KEY_VALUE
    if text != text.strip() or not text.isprintable():
        # A PostgreSQL address is never echoed: it may hold a password.
        shown = "the value" if _SECRETIVE.search(text) else repr(text)
        return (
            f"{shown} starts or ends with a space, or holds a line break or another unprintable "
            f"character; give {ACCEPTED}"
        )
    if text.startswith(POSTGRES_SCHEMES):
        return _postgres_problem(text)
    if text == MEMORY:
        return None
    sqlite_url = _SQLITE_URL.match(text)
    if sqlite_url is not None:
        return (
            f"{sqlite_url.group(1)}: addresses are not read; give the SQLite file's path itself, "
            "such as rooms.db or /srv/rooms/rooms.db"
        )
    # Only the scheme of an address is shown: the rest may hold a password.
    near = _NEAR_POSTGRES.match(text)
    if near is not None:
        return (
            f"{near.group(0)} is not how a PostgreSQL address starts; write postgresql:// or "
            "postgres://, in lower case"
        )
    url = _URL.match(text)
    if url is not None:
        return (
            f"{url.group(1)}:// addresses are not supported; the accepted addresses are "
            "postgresql:// and postgres://, and a SQLite database is given as a plain file path"
        )
    if text.endswith(("/", os.sep)):
        shown = "the value" if _SECRETIVE.search(text) else text
        return f"{shown} ends with {text[-1]}, so it names a folder; give the path of a SQLite file"
    problem = _file_problem(Path(text))
    if problem is not None and _SECRETIVE.search(text):  # a quoted or prefixed address, say
        return (
            "the value is not a usable SQLite file path, and it may hold a password, so it is not "
            f"shown; give {ACCEPTED}"
        )
    return problem


def _file_problem(path: Path) -> str | None:
    """Why a SQLite file cannot be opened or created at ``path``, as far as can be told."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # the folders are looked at below
        info = None
    except OSError as exc:  # a loop of links, a name too long, no permission to look
        return f"{path}: cannot look at it: {exc.strerror}"
    if info is not None and stat.S_ISDIR(info.st_mode):
        return f"{path} is a folder; give the path of a SQLite file, such as {path / 'rooms.db'}"
    if info is not None and not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file, so it cannot be a SQLite database"
    folder = path.parent
    if not folder.exists():
        existing = next((p for p in folder.parents if p.exists()), None)
        if existing is not None and not existing.is_dir():
            return f"{existing} is a file, not a folder"
        return f"the folder {folder} does not exist; create it first (only the file is created)"
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    # SQLite writes its journal (-wal, -shm) beside the file, so the folder must take new files.
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"no permission to create files in {folder}, which SQLite needs for the database "
            "and its journal files"
        )
    if info is not None and not os.access(path, os.R_OK | os.W_OK):
        return f"no permission to read and write {path}"
    return None


UNREADABLE_ADDRESS = (
    "the postgresql:// address cannot be read (look at the brackets around an IPv6 host and the "
    "%-escapes in the user name and password); it is not shown, since it may hold a password"
)


NO_HOST = (
    "the port of the postgresql:// address is not a number: is it user:password without "
    "'@host' after it? The address is not shown, since it may hold a password"
)
UNESCAPED_USER_INFO = (
    "the user name or password of the postgresql:// address holds '/', '@', '?' or '#' as it is; "
    "write them %-escaped (%2F, %40, %3F, %23), or libpq reads part of the password as the host "
    "or the database name and shows it in its messages; the address is not shown"
)


def _postgres_problem(text: str) -> str | None:
    """Why libpq could not read ``text``, without quoting it; None when it can, or when the
    [postgres] extra is missing (the store then says so)."""
    rest = text.split("://", 1)[1]
    if "@" in rest and any(ch in rest[: rest.rfind("@")] for ch in "/@?#"):
        return UNESCAPED_USER_INFO
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    if "@" not in authority:
        port = authority.rsplit("]", 1)[-1].rpartition(":")[2] if ":" in authority else ""
        if port and not port.isdigit():
            return NO_HOST
    try:
        from psycopg import ProgrammingError, conninfo  # noqa: PLC0415
    except ImportError:
        return None
    try:
        conninfo.conninfo_to_dict(text)
    except (ProgrammingError, UnicodeError, ValueError):  # a %-escape that is not UTF-8, say
        return UNREADABLE_ADDRESS
    return None

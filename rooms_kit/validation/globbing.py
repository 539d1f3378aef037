"""Glob patterns with ``**`` that stay finite on folders linked into themselves.

``glob.glob(recursive=True)`` follows symbolic links to folders at every level, so a link back to
an ancestor is walked until the system refuses the path (about 40 levels), and two such links make
that exponential. Here ``**`` enters each real folder once per pattern component, whatever the
name it is reached by; the rest follows ``glob``: ``*``, ``?`` and ``[...]`` inside one name,
names starting with a dot only when the pattern's part does too.
"""

from __future__ import annotations

import fnmatch
import glob
import os


def recursive_glob(pattern: str) -> list[str]:
    """The paths ``pattern`` matches, sorted; ``**`` matches zero or more folders."""
    if "**" not in pattern:
        return sorted(glob.glob(pattern))
    absolute = pattern.startswith(os.sep)
    parts = [part for part in pattern.split(os.sep) if part]
    found: set[str] = set()
    entered: set[tuple[int, str]] = set()

    def walk(base: str, at: int) -> None:
        if at == len(parts):
            found.add(base)
            return
        part = parts[at]
        here = base or os.curdir
        if part == "**":
            key = (at, os.path.realpath(here))
            if key in entered:  # this folder was reached before, by this or another name
                return
            entered.add(key)
            walk(base, at + 1)
            last = at == len(parts) - 1  # a final ``**`` matches the files on the way too
            for name in _names(here, folders_only=not last, hidden=False):
                path = os.path.join(base, name)
                if not last or os.path.isdir(path):
                    walk(path, at)
                else:
                    found.add(path)
        elif glob.has_magic(part):
            last = at == len(parts) - 1
            names = _names(here, folders_only=not last, hidden=part.startswith("."))
            for name in fnmatch.filter(names, part):
                walk(os.path.join(base, name), at + 1)
        else:
            candidate = os.path.join(base, part)
            if os.path.lexists(candidate):
                walk(candidate, at + 1)

    walk(os.sep if absolute else "", 0)
    return sorted(found)


def _names(folder: str, *, folders_only: bool, hidden: bool) -> list[str]:
    """Sorted entries of ``folder`` (none if it cannot be listed)."""
    try:
        with os.scandir(folder) as entries:
            names = [
                entry.name
                for entry in entries
                if (hidden or not entry.name.startswith("."))
                and (not folders_only or _is_folder(entry))
            ]
    except OSError:
        return []
    return sorted(names)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows links, as glob does
    except OSError:
        return False

"""Errors that carry where a problem is (file, line, JSON pointer) and what it is.

Every error the kit reports to a user derives from ``KitError``; the command line prints it once,
at the edge, and maps it to an exit status. Nothing below the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class KitError(Exception):
    """Base class for problems the kit reports to its user."""


@dataclass(frozen=True)
class Location:
    """Where a problem sits: a file, optionally a 1-based line, and a JSON pointer inside it."""

    file: Path | str
    pointer: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}#{self.pointer}" if self.pointer else where


class SchemaError(KitError):
    """A schema file (or the operations file) is unreadable, not JSON, or breaks its metaschema."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


class UnknownKindError(KitError):
    """A kind name that none of the schemas declares."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown kind {name!r}; known kinds: {', '.join(known)}")
        self.name = name
        self.known = known

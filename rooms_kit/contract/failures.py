"""What a broken contract looks like: a ``ContractFailure`` raised by a named check.

    ContractFailure (AssertionError)
        carries: check (the name of the check that found it), title (one line), message (details)

A check is a small function that raises ``ContractFailure``; the runner turns each raise into a
failed observation, with the HTTP exchange that revealed it attached.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rooms_kit.contract.http import Exchange

_INDEX = re.compile(r"/[0-9]+(?=/|$)")
MAX_DETAIL_CHARS = (
    1000  # of a failure's details as printed and kept: they may quote a server's values
)


def clip(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` cut to ``limit`` characters (the last one an ellipsis): a server's 1 MB room id
    or value never becomes a 1 MB line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pointer_pattern(pointer: str) -> str:
    """A JSON pointer with its array indices as ``*``: the same field in every item."""
    return _INDEX.sub("/*", pointer) or "/"


@dataclass(frozen=True)
class Finding:
    """One problem at one place of a body.

    ``place`` names the field in the document's terms (``RoomModification.modifiedTimestampMillis``)
    so that what several checks and operations see there reads as one root cause; ``pointer`` is
    where in this body it was (array indices as ``*``); ``keyword`` is the rule.
    """

    place: str
    pointer: str
    keyword: str
    text: str


class ContractFailure(AssertionError):
    """One broken rule, found by the check called ``check``; ``exchange`` is the evidence."""

    def __init__(
        self,
        check: str,
        title: str,
        message: str = "",
        *,
        exchange: Exchange | None = None,
        findings: tuple[Finding, ...] = (),
        code: str = "",
    ) -> None:
        super().__init__(f"[{check}] {title}" + (f": {message}" if message else ""))
        self.check = check
        self.title = title
        self.message = message
        self.exchange = exchange
        self.findings = findings  # when given, each is recorded as a failure of its own
        # What makes two failures of one check the same problem; the title when empty. A title
        # that carries counts ("page 3 serves 9 rooms again") needs one, or each count would
        # read as a problem of its own.
        self.code = code


class CannotRun(Exception):
    """The suite cannot do its job at all (unreachable server, unusable tokens)."""


class DeadlineReached(Exception):
    """The run's deadline (``--max-time``) passed: the run stops and reports what it saw."""


class Deadline:
    """The end of a run in ``time.monotonic()`` terms; ``seconds`` None is no deadline."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.at: float | None = None if seconds is None else self.started + seconds

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def check(self) -> None:
        if self.expired():
            raise DeadlineReached(f"the run reached its deadline of {self.seconds:g} s")

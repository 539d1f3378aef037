"""What a broken contract looks like: a ``ContractFailure`` raised by a named check.

    ContractFailure (AssertionError)
        carries: check (the name of the check that found it), title (one line), message (details)

A check is a small function that raises ``ContractFailure``; the runner turns each raise into a
failed observation, with the HTTP exchange that revealed it attached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rooms_kit.contract.http import Exchange


class ContractFailure(AssertionError):
    """One broken rule, found by the check called ``check``; ``exchange`` is the evidence."""

    def __init__(
        self, check: str, title: str, message: str = "", *, exchange: Exchange | None = None
    ) -> None:
        super().__init__(f"[{check}] {title}" + (f": {message}" if message else ""))
        self.check = check
        self.title = title
        self.message = message
        self.exchange = exchange


class CannotRun(Exception):
    """The suite cannot do its job at all (unreachable server, unusable tokens)."""

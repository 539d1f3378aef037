"""The "did you mean" hint: one known name close to a misspelt one.

``difflib`` finds the candidates that look alike (its ratio, above a cutoff); among them the
closest by edit distance is named. Its own first pick is the one with the best ratio, which
favours the longer name: ``games#roomP2PStatuss`` was sent to ``games#roomP2PStatuses``, two
edits away from what was typed as ``games#roomP2PStatus`` is one. A tie goes to the name sharing
the longer beginning with what was typed, then to the shorter name, then to the first in order.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, known: Iterable[str], *, cutoff: float) -> str | None:
    """The known name to suggest for ``name``, or None when none looks close enough."""
    candidates = difflib.get_close_matches(name, list(known), n=8, cutoff=cutoff)
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda known_name: (
            edit_distance(name, known_name),
            -shared_beginning(name, known_name),
            len(known_name),
            known_name,
        ),
    )


def edit_distance(first: str, second: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions."""
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, start=1):
        current = [i]
        for j, b in enumerate(second, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


def shared_beginning(first: str, second: str) -> int:
    """How many characters the two names have in common from their start."""
    count = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        count += 1
    return count

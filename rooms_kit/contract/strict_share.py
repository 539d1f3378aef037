"""The part of a large body that the strict-mode check describes, so that its time is bounded.

The strict check (``strict_schema``) words its findings with the kit's own engine, which has
jsonschema-rs build every error before the first can be read: about 10 µs each, so an 8 MiB answer
of 1.2 million wrong values held the caller (the proxy's event loop) for some 30 s. The check
shows at most 20 findings, so it describes a share of the body instead: the whole body when it
holds at most ``STRICT_VALUES`` values, else a copy in which arrays keep their items, in order,
until that many values are in, and the rest of each array is left out. Objects keep all their
members, so ``required`` and unknown-property verdicts do not change; the kit's payload schemas
say nothing about an array's length or uniqueness, so leaving items out changes no verdict on
what is kept. Whether the items left out hold a violation is then asked of jsonschema-rs on the
whole body (``is_valid``, which stops at the first error and builds none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rooms_kit.schemas.loading import pointer_of

STRICT_VALUES = 10_000
"""Values (every object, array and scalar counts one) of a body described in strict mode."""
SMALLEST_VALUE_BYTES = 2
"""A JSON value and its separator take at least this many bytes (``1,``), so a body below
``STRICT_VALUES * SMALLEST_VALUE_BYTES`` bytes never needs a share."""


@dataclass(frozen=True)
class Share:
    """A body, or the bounded copy of it that strict mode describes."""

    document: Any
    left_out: int = 0  # array items not in the copy
    first: str = ""  # JSON pointer of the first of them


def share_of(body: Any, size: int, budget: int | None = None) -> Share:
    """``body`` (``size`` bytes of JSON) as it is when it is small, else its copy bounded to
    ``budget`` values (``STRICT_VALUES`` by default)."""
    budget = STRICT_VALUES if budget is None else budget
    if size < budget * SMALLEST_VALUE_BYTES:
        return Share(body)
    if not isinstance(body, dict | list):
        return Share(body)
    walk = _Walk(budget)
    copy = walk.copy(body)
    return Share(copy, walk.left_out, walk.first) if walk.left_out else Share(body)


class _Walk:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.left_out = 0
        self.first = ""
        self.path: list[str | int] = []  # where the walk is; a pointer is written only when needed

    def copy(self, value: Any) -> Any:
        """``value`` (a container, counted) with its arrays cut to the budget. Loops, not
        comprehensions: one frame per level. Scalars are counted without a call: an object of a
        million members costs a pass over them, not a million calls and pointers."""
        self.budget -= 1
        path = self.path
        if isinstance(value, dict):
            members = {}
            for key, item in value.items():
                if isinstance(item, dict | list):
                    path.append(key)
                    members[key] = self.copy(item)
                    path.pop()
                else:
                    self.budget -= 1
                    members[key] = item
            return members
        kept = []
        for index, item in enumerate(value):
            if self.budget <= 0:
                self.left_out += len(value) - index
                self.first = self.first or pointer_of([*path, index])
                break
            if isinstance(item, dict | list):
                path.append(index)
                kept.append(self.copy(item))
                path.pop()
            else:
                self.budget -= 1
                kept.append(item)
        return kept

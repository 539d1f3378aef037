"""How much the suite does: ``smoke`` (well under a minute) and ``full`` (a few minutes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    positive_examples: int  # generated valid requests per operation
    negative_examples: int  # generated invalid requests per operation
    stateful_examples: int  # chains of calls through the OpenAPI links
    stateful_steps: int  # longest chain


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        "smoke", positive_examples=10, negative_examples=10, stateful_examples=5, stateful_steps=6
    ),
    "full": Profile(
        "full",
        positive_examples=100,
        negative_examples=100,
        stateful_examples=50,
        stateful_steps=12,
    ),
}

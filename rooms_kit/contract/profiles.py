"""How much the suite does: ``smoke`` (well under a minute) and ``full`` (a few minutes).

``max_time`` is the default deadline of a run (``--max-time``): a smoke run against any server,
however slow or broken, ends in about a minute and a half; a full one within a quarter hour.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    positive_examples: int  # generated valid requests per operation
    negative_examples: int  # generated invalid requests per operation
    stateful_examples: int  # chains of calls through the OpenAPI links
    stateful_steps: int  # longest chain
    max_time: float  # seconds: the run stops there and reports what it saw


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        "smoke",
        positive_examples=10,
        negative_examples=10,
        stateful_examples=5,
        stateful_steps=6,
        max_time=80.0,
    ),
    "full": Profile(
        "full",
        positive_examples=100,
        negative_examples=100,
        stateful_examples=50,
        stateful_steps=12,
        max_time=900.0,
    ),
}

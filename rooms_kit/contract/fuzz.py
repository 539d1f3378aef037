"""Generated requests (Schemathesis): positive and negative per operation, and stateful chains."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rooms_kit.contract.profiles import Profile
    from rooms_kit.contract.runner import Unit


def units(profile: Profile) -> list[Unit]:
    return []

"""The same seed sends the same generated requests; another seed sends others."""

from __future__ import annotations

from rooms_kit.contract import Target
from rooms_kit.contract.http import Exchange
from rooms_kit.contract.profiles import PROFILES
from rooms_kit.contract.runner import open_run, plan, run_unit
from rooms_kit.reference_server.app import create_reference_app

UNITS = ("fuzz: create (negative)", "fuzz: list (positive)")


def _sent(seed: int) -> list[tuple[str, str, bytes | None]]:
    app = create_reference_app(":memory:", dev_tokens=True)
    sent: list[tuple[str, str, bytes | None]] = []

    def keep(exchange: Exchange) -> None:
        sent.append((exchange.request.method, exchange.request.url, exchange.request.body))

    try:
        with open_run(Target.asgi(app), ["dev-alice", "dev-bob"], seed=seed) as ctx:
            ctx.session.observers.append(keep)
            for unit in plan(PROFILES["smoke"]):
                if unit.name in UNITS:
                    run_unit(ctx, unit)
    finally:
        app.close()
    return sent


def test_same_seed_same_requests() -> None:
    first = _sent(7)
    assert len(first) >= 10
    assert _sent(7) == first


def test_other_seed_other_requests() -> None:
    assert _sent(7) != _sent(8)

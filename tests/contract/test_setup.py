"""Setting up a run: finding each token's player, and refusing tokens that cannot work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rooms_kit.contract import CannotRun, Target, run_suite
from rooms_kit.contract.runner import open_run
from rooms_kit.reference_server.app import ReferenceApp, create_reference_app
from tests.contract.broken_variants.rewriting import Answer, Call, Rewriter


class WithoutAutoMatching(Rewriter):
    """A server that supports invitations only: auto-matching creates are refused (400)."""

    async def rewritten(self, call: Call) -> Answer:
        body = call.json()
        if call.operation == "create" and isinstance(body, dict) and "autoMatchingCriteria" in body:
            answer = Answer(400, {"content-type": "application/json"}, b"")
            message = "auto-matching is not offered"
            error = {"domain": "global", "reason": "invalid", "message": message}
            answer.set_json({"error": {"code": 400, "message": message, "errors": [error]}})
            return answer
        return await self.ask(call)


@pytest.fixture
def reference() -> Iterator[ReferenceApp]:
    app = create_reference_app(":memory:", dev_tokens=True)
    yield app
    app.close()


def test_players_are_found_by_their_own_rooms(reference: ReferenceApp) -> None:
    with open_run(Target.asgi(reference), ["dev-alice", "dev-bob", "dev-carol"]) as ctx:
        assert [p.player_id for p in ctx.players] == ["alice", "bob", "carol"]


def test_players_are_found_without_auto_matching() -> None:
    app = WithoutAutoMatching()
    try:
        results = run_suite(Target.asgi(app), ["dev-alice", "dev-bob"], phases=("scenarios",))
    finally:
        app.close()
    assert results.ok, [f.title for f in results.failures]


def test_a_refused_token_cannot_run(reference: ReferenceApp) -> None:
    with pytest.raises(CannotRun, match="token number 2 is not accepted"):
        run_suite(Target.asgi(reference), ["dev-alice", "not-a-dev-token"], phases=())


def test_two_tokens_of_one_player_cannot_run(reference: ReferenceApp) -> None:
    with pytest.raises(CannotRun, match="different players"):
        run_suite(Target.asgi(reference), ["dev-alice", "dev-alice"], phases=())


def test_one_token_cannot_run(reference: ReferenceApp) -> None:
    with pytest.raises(CannotRun, match="at least two tokens"):
        run_suite(Target.asgi(reference), ["dev-alice"], phases=())


def test_a_run_leaves_no_open_invitation_behind(reference: ReferenceApp) -> None:
    """Reruns against a server that keeps its data must not face an ever longer list."""
    results = run_suite(Target.asgi(reference), ["dev-alice", "dev-bob"], profile="smoke")
    assert results.ok
    client = Target.asgi(reference).client()
    try:
        answer = client.get("/games/v1/rooms", headers={"Authorization": "Bearer dev-bob"})
    finally:
        client.close()
    assert answer.status_code == 200
    assert answer.json().get("items", []) == []

"""Chains of calls through the OpenAPI links (create/join → get, join, leave, decline, dismiss,
reportStatus).

- a seeded link walk: player A creates a room inviting B; each step follows one of the links of the
  last create/join answer, as A or B (both take part in the room), with a valid body;
- Schemathesis' own state machine over the same links, as player A, every walk starting with a
  create (Schemathesis does not count create among this document's entry points).

``stateful_links``: a ``roomId`` followed through a link is never unknown (404) to a participant,
unless the room was seen deleted (a server may forget deleted rooms).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from hypothesis.stateful import initialize

from rooms_kit.contract.bounded import json_problem
from rooms_kit.contract.context import SuiteContext
from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.generation import hypothesis_settings, load_schema, send_case
from rooms_kit.contract.http import Exchange

if TYPE_CHECKING:
    from rooms_kit.contract.profiles import Profile

CREATE_BUNDLE = "POST /games/v1/rooms/create -> 200"


def _pointer(document: Any, expression: str) -> Any:
    """Evaluate a link expression of the form ``$response.body#/a/b``."""
    node = document
    for part in expression.split("#", 1)[1].strip("/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _json_or_none(exchange: Exchange) -> Any:
    try:
        return exchange.response.json()
    except ValueError:
        return None


def _link_bodies(room: dict[str, Any], caller: str) -> dict[str, Any]:
    others = [
        entry["id"]
        for entry in room.get("participants") or []
        if "id" in entry and (entry.get("player") or {}).get("playerId") != caller
    ]
    update = {"kind": "games#roomP2PStatus", "status": "CONNECTION_ESTABLISHED"}
    return {
        "games.rooms.join": {"kind": "games#roomJoinRequest"},
        "games.rooms.leave": {"kind": "games#roomLeaveRequest", "reason": "GAME_LEFT"},
        "games.rooms.reportStatus": {
            "kind": "games#roomP2PStatuses",
            "updates": [{**update, "participantId": pid} for pid in others[:1]],
        },
    }


def _link_walk(ctx: SuiteContext, profile: Profile, created: set[str]) -> None:
    """Seeded walks along the document's links, by the two participants of one room each."""
    rng = random.Random(ctx.seed)
    links = {
        source: list(
            ctx.openapi.operation(source).spec["responses"]["200"].get("links", {}).values()
        )
        for source in ("games.rooms.create", "games.rooms.join")
    }
    a, b = ctx.players[0], ctx.players[1]
    for _ in range(profile.stateful_examples):
        body = {"kind": "games#roomCreateRequest", "invitedPlayerIds": [b.player_id]}
        source_op, source = (
            "games.rooms.create",
            ctx.ok("stateful_links", ctx.call(a, "create", body=body), "create"),
        )
        created.add(str(source.get("roomId")))
        deleted = False
        for _ in range(profile.stateful_steps):
            if not links[source_op]:
                break
            link = rng.choice(links[source_op])
            who = rng.choice((a, b))
            room_id = _pointer(source, link["parameters"]["roomId"])
            if not isinstance(room_id, str):
                ctx.fail(
                    "stateful_links",
                    f"the link {link['operationId']} finds no roomId in the answer",
                )
            target = link["operationId"]
            exchange = ctx.call(
                who, target, room_id, body=_link_bodies(source, who.player_id).get(target)
            )
            if exchange.response.status == 404 and not deleted:
                ctx.fail(
                    "stateful_links",
                    f"{target.rsplit('.', 1)[-1]} by a participant, on a roomId from a link: 404",
                    f"the room came from {source_op}'s answer; both players take part in it",
                    exchange,
                )
            if not deleted:
                ctx.results.record_pass("stateful_links", target)
            answer = _json_or_none(exchange) if exchange.response.status == 200 else None
            if isinstance(answer, dict) and answer.get("status") == "ROOM_DELETED":
                deleted = True  # from here on a server may have forgotten the room
            if target == "games.rooms.join" and isinstance(answer, dict):
                source_op, source = target, answer


def run_stateful(ctx: SuiteContext, profile: Profile) -> None:
    created: set[str] = set()
    try:
        _link_walk(ctx, profile, created)
        _schemathesis_walk(ctx, profile, created)
    finally:
        _tidy(ctx, created)


def _tidy(ctx: SuiteContext, room_ids: set[str]) -> None:
    """Leave no open invitation behind (a server that keeps its data keeps B's list short)."""
    a, b = ctx.players[0], ctx.players[1]
    leave = {"kind": "games#roomLeaveRequest"}
    for room_id in sorted(room_ids):
        ctx.call(b, "decline", room_id)
        ctx.call(b, "leave", room_id, body=leave)
        ctx.call(a, "leave", room_id, body=leave)


def _as_schemathesis(exchange: Exchange) -> Any:
    """The exchange as the response Schemathesis' state machine expects."""
    import requests  # noqa: PLC0415 - Schemathesis' own dependency
    from schemathesis.core.transport import Response  # noqa: PLC0415

    sent = exchange.request
    request = requests.Request(
        method=sent.method, url=sent.url, headers=dict(sent.headers), data=sent.body
    ).prepare()
    headers: dict[str, list[str]] = {}
    for name, value in exchange.response.headers:
        headers.setdefault(name.lower(), []).append(value)
    body = exchange.response.body
    if json_problem(body) is not None:
        body = b""  # the suite's checks reported it; Schemathesis' parser must not meet it
    return Response(
        status_code=exchange.response.status,
        headers=headers,
        content=body,
        request=request,
        elapsed=exchange.seconds,
        verify=True,
    )


def _schemathesis_walk(ctx: SuiteContext, profile: Profile, created: set[str]) -> None:
    from schemathesis.generation.stateful import run_state_machine_as_test  # noqa: PLC0415
    from schemathesis.generation.stateful.state_machine import StepInput  # noqa: PLC0415

    own_rooms: set[str] = set()
    invitee = ctx.players[1].player_id
    schema = load_schema(ctx.schemathesis_config)
    base = schema.as_state_machine()
    create = schema.find_operation_by_id("games.rooms.create")

    class Walk(base):  # type: ignore[valid-type, misc]
        def call(self, case: Any, **kwargs: Any) -> Any:
            operation_id = case.operation.definition.raw.get("operationId") or ""
            # Random create bodies mostly break the rules of create (400), and a walk needs a
            # room to start from: creates in the walk invite player B, all else is generated.
            body = None
            if operation_id == "games.rooms.create":
                body = {"kind": "games#roomCreateRequest", "invitedPlayerIds": [invitee]}
            exchange = send_case(ctx, case, operation_id, body)
            room_id = (case.path_parameters or {}).get("roomId")
            status = exchange.response.status
            if room_id in own_rooms and status == 404:
                failure = ContractFailure(
                    "stateful_links",
                    f"{case.operation.label}: the caller's own room is unknown (404)",
                    f"roomId {room_id} came from an earlier answer to the same player",
                    exchange=exchange,
                )
                ctx.results.record_failure(failure, operation_id, ctx.unit, exchange)
            elif room_id in own_rooms:
                ctx.results.record_pass("stateful_links", operation_id)
            answer = _json_or_none(exchange) if status == 200 else None
            if isinstance(answer, dict) and isinstance(answer.get("roomId"), str):
                if answer.get("status") == "ROOM_DELETED":
                    own_rooms.discard(answer["roomId"])  # a server may forget deleted rooms
                elif operation_id in ("games.rooms.create", "games.rooms.join"):
                    own_rooms.add(answer["roomId"])
                if operation_id == "games.rooms.create":
                    created.add(answer["roomId"])
            return _as_schemathesis(exchange)

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            """The suite's own checks ran when the answer arrived."""

        # Schemathesis does not count create among the entry points of this document, so
        # every walk starts with one: a room of A's that the links can then lead into.
        @initialize(target=base.bundles[CREATE_BUNDLE])
        def create_room(self) -> Any:
            case = create.Case(body={}, media_type="application/json")
            step = StepInput.initial(case)
            # What Schemathesis' own rules do before a step (pinned 4.32.5): later link steps
            # look their parent case up in the recorder.
            self.recorder.record_case(case=case)
            self.control.record_step(step, self.recorder)
            return self.step(step)

    run_state_machine_as_test(
        Walk,
        settings=hypothesis_settings(
            profile.stateful_examples, stateful_step_count=profile.stateful_steps, derandomize=True
        ),
    )

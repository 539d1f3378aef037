"""Generated requests from ``openapi.json`` with Schemathesis: per operation, and chained.

- ``fuzz: <operation> (positive)``: requests that match the document; every answer goes through
  the response checks (no 5xx, documented status, envelope, schemas, int64 strings).
- ``fuzz: <operation> (negative)``: requests Schemathesis breaks on purpose. The suite checks the
  request *as sent* against the document itself; when it really is invalid (a body or query
  value the schema refuses), the answer must be a 4xx (``rejects_invalid_input``).
- ``stateful: links``: Schemathesis walks the OpenAPI links (create/join → get, join, leave,
  decline, dismiss, reportStatus) as player A; a ``roomId`` taken from A's own successful answer
  must never be unknown to the server (``stateful_links``: no 404 for it).

Requests carry player A's token (Schemathesis' own credentials are switched off). Generation is
seeded with the run's seed; the stateful walk is derandomised (always the same walk), since
Hypothesis' state machines take no explicit seed.
"""

from __future__ import annotations

import random
import re
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize

from rooms_kit.contract.context import SuiteContext
from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.http import Exchange
from rooms_kit.contract.results import SCENARIO

if TYPE_CHECKING:
    from rooms_kit.contract.profiles import Profile
    from rooms_kit.contract.runner import Unit

CREATE_BUNDLE = "POST /games/v1/rooms/create -> 200"
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INTEGER = re.compile(r"-?[0-9]+")
SCHEMATHESIS_CONFIG: dict[str, Any] = {
    "generation": {"allow-x00": False, "with-security-parameters": False},
    "phases": {"stateful": {"generation": {"mode": "positive"}}},
}
OPERATIONS = (
    "games.rooms.create",
    "games.rooms.decline",
    "games.rooms.dismiss",
    "games.rooms.get",
    "games.rooms.join",
    "games.rooms.leave",
    "games.rooms.list",
    "games.rooms.reportStatus",
)


@cache
def load_schema(config_path: Path | None = None) -> Any:
    """The Schemathesis view of ``openapi.json``, with a generator for int64 strings.

    ``config_path`` is a ``schemathesis.toml`` (``contract_tests/`` has one); without it the
    suite's own defaults apply (``SCHEMATHESIS_CONFIG``).
    """
    import schemathesis  # noqa: PLC0415 - heavy, only needed when fuzzing
    from schemathesis.config import SchemathesisConfig  # noqa: PLC0415

    from rooms_kit.contract.openapi import openapi_path  # noqa: PLC0415

    schemathesis.openapi.format("int64", st.integers(INT64_MIN, INT64_MAX).map(str))
    if config_path is None:
        config = SchemathesisConfig.from_dict(SCHEMATHESIS_CONFIG)
    else:
        config = SchemathesisConfig.from_path(config_path)
    return schemathesis.openapi.from_path(str(openapi_path()), config=config)


def _settings(examples: int, **extra: Any) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every request costs a round trip
        suppress_health_check=list(HealthCheck),
        **extra,
    )


def send_case(ctx: SuiteContext, case: Any, operation_id: str, body: Any = None) -> Exchange:
    """Send a Schemathesis case as player A (its own headers and credentials are dropped);
    ``body`` replaces the generated body when given."""
    if body is None:
        body = getattr(case, "body", None)
    has_body = body is not None and type(body).__name__ != "NotSet"
    raw = body if isinstance(body, bytes) else None
    return ctx.session.send(
        operation_id,
        case.method.upper(),
        case.formatted_path,
        token=ctx.players[0].token,
        query=dict(case.query or {}),
        body=body if has_body and raw is None else None,
        raw_body=raw,
    )


def _wire_value(schema: dict[str, Any], raw: str) -> Any:
    """What a server should make of a query string value, given the parameter's schema."""
    kind = schema.get("type")
    if kind == "integer" and INTEGER.fullmatch(raw):
        return int(raw)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def invalid_as_sent(
    ctx: SuiteContext, operation_id: str, exchange: Exchange, case: Any
) -> str | None:
    """Why the request, as it went over the wire, breaks the document (None when it does not)."""
    openapi = ctx.openapi
    parameters = openapi.parameters(operation_id)
    for name, value in (case.query or {}).items():
        parameter = parameters.get(name)
        if parameter is None or parameter.get("in") != "query":
            continue
        if isinstance(value, list | tuple) and len(value) != 1:
            continue  # a repeated parameter: which value counts is the server's choice
        single = value[0] if isinstance(value, list | tuple) else value
        if isinstance(single, dict | list):
            return f"query parameter {name} is not a scalar"
        wire = "true" if single is True else "false" if single is False else str(single)
        errors = list(
            openapi.validator(parameter["schema"]).iter_errors(
                _wire_value(parameter["schema"], wire)
            )
        )
        if errors:
            return f"query parameter {name}={wire!r}: {errors[0].message}"
    schema = openapi.request_schema(operation_id)
    if schema is not None:
        if exchange.request.body is None:
            required = openapi.operation(operation_id).spec["requestBody"].get("required", False)
            return "the required body is missing" if required else None
        import json  # noqa: PLC0415

        try:
            document = json.loads(exchange.request.body)
        except ValueError:
            return "the body is not JSON"
        errors = list(openapi.validator(schema).iter_errors(document))
        if errors:
            pointer = "".join(f"/{part}" for part in errors[0].absolute_path) or "/"
            return f"body {pointer}: {errors[0].message}"
    return None


def _fuzz(ctx: SuiteContext, operation_id: str, mode_name: str, examples: int) -> None:
    from schemathesis import GenerationMode  # noqa: PLC0415

    mode = GenerationMode.POSITIVE if mode_name == "positive" else GenerationMode.NEGATIVE
    operation = load_schema(ctx.schemathesis_config).find_operation_by_id(operation_id)

    @seed(ctx.seed)
    @_settings(examples)
    @given(case=operation.as_strategy(mode))
    def each(case: Any) -> None:
        exchange = send_case(ctx, case, operation_id)
        if mode_name != "negative":
            return
        why = invalid_as_sent(ctx, operation_id, exchange, case)
        if why is None:
            return
        if 400 <= exchange.response.status < 500:
            ctx.results.record_pass("rejects_invalid_input", operation_id)
        else:
            failure = ContractFailure(
                "rejects_invalid_input",
                f"invalid request answered {exchange.response.status}",
                why,
                exchange=exchange,
            )
            ctx.results.record_failure(failure, operation_id, ctx.unit, exchange)

    each()


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


def _link_walk(ctx: SuiteContext, profile: Profile) -> None:
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


def _stateful(ctx: SuiteContext, profile: Profile) -> None:
    _link_walk(ctx, profile)
    _schemathesis_walk(ctx, profile)


def _schemathesis_walk(ctx: SuiteContext, profile: Profile) -> None:
    from schemathesis.core.transport import Response  # noqa: PLC0415
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
            response = ctx.session.last_response
            assert isinstance(response, httpx.Response)
            return Response.from_httpx(response, verify=True)

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
        settings=_settings(
            profile.stateful_examples, stateful_step_count=profile.stateful_steps, derandomize=True
        ),
    )


def units(profile: Profile) -> list[Unit]:
    from rooms_kit.contract.runner import Unit  # noqa: PLC0415

    found: list[Unit] = []
    for operation_id in OPERATIONS:
        short = operation_id.rsplit(".", 1)[-1]
        for mode, examples in (
            ("positive", profile.positive_examples),
            ("negative", profile.negative_examples),
        ):
            found.append(
                Unit(
                    f"fuzz: {short} ({mode})",
                    "fuzz",
                    operation_id,
                    None,
                    partial(_fuzz, operation_id=operation_id, mode_name=mode, examples=examples),
                )
            )
    found.append(
        Unit(
            "stateful: links",
            "stateful",
            SCENARIO,
            None,  # passes are counted per followed link
            partial(_stateful, profile=profile),
        )
    )
    return found

"""Deterministic negative requests: bad parameters, bad bodies, missing or bad credentials.

Each request must get a 4xx (never a 2xx, never a 5xx); requests without valid credentials must
get 401. The room the requests name is a real one of player A, so a 404 cannot hide the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rooms_kit.contract.context import SuiteContext
from rooms_kit.contract.failures import ContractFailure

INVALID_TOKEN = "rooms-kit-contract-invalid-token"


@dataclass(frozen=True)
class BadRequest:
    operation: str
    why: str
    query: dict[str, Any] | None = None
    body: Any = None
    raw_body: bytes | None = None


BAD_PARAMETERS: tuple[BadRequest, ...] = (
    BadRequest("list", "maxResults=0 is below 1", query={"maxResults": 0}),
    BadRequest("list", "maxResults=501 is above 500", query={"maxResults": 501}),
    BadRequest("list", "maxResults is not an integer", query={"maxResults": "ten"}),
    BadRequest("get", "consistencyToken is not digits", query={"consistencyToken": "abc"}),
    BadRequest("get", "consistencyToken is a fraction", query={"consistencyToken": "1.5"}),
    BadRequest(
        "list", "consistencyToken beyond int64", query={"consistencyToken": "9223372036854775808"}
    ),
    BadRequest(
        "join",
        "consistencyToken with leading zeros",
        query={"consistencyToken": "007"},
        body={"kind": "games#roomJoinRequest"},
    ),
)

BAD_BODIES: tuple[BadRequest, ...] = (
    BadRequest("create", "body is not JSON", raw_body=b"{not json"),
    BadRequest("create", "body is an array", body=[]),
    BadRequest("create", "invitedPlayerIds is a string", body={"invitedPlayerIds": "bob"}),
    BadRequest("create", "variant is a string", body={"variant": "two", "invitedPlayerIds": ["x"]}),
    BadRequest(
        "create",
        "requestId is a number, not an int64 string",
        body={"requestId": 12, "invitedPlayerIds": ["x"]},
    ),
    BadRequest(
        "create", "kind of another object", body={"kind": "games#room", "invitedPlayerIds": ["x"]}
    ),
    BadRequest(
        "create",
        "exclusiveBitmask is not an int64 string",
        body={"autoMatchingCriteria": {"minAutoMatchingPlayers": 1, "exclusiveBitmask": "abc"}},
    ),
    BadRequest(
        "join",
        "join body with the kind of a leave request",
        body={"kind": "games#roomLeaveRequest"},
    ),
    BadRequest("leave", "leave reason outside the enumeration", body={"reason": "NOT_A_REASON"}),
    BadRequest("reportStatus", "updates is not an array", body={"updates": "all good"}),
)


def _expect_4xx(ctx: SuiteContext, check: str, bad: BadRequest, room_id: str) -> None:
    exchange = ctx.call(
        ctx.players[0],
        bad.operation,
        room_id,
        query=bad.query,
        body=bad.body,
        raw_body=bad.raw_body,
    )
    status = exchange.response.status
    if 400 <= status < 500:
        ctx.results.record_pass(check, exchange.operation)
        return
    failure = ContractFailure(
        check, f"{bad.why}: answered {status}", "expected a 4xx", exchange=exchange
    )
    ctx.results.record_failure(failure, exchange.operation, ctx.unit, exchange)


def _own_room(ctx: SuiteContext) -> str:
    a, b = ctx.players[0], ctx.players[1]
    body = {"kind": "games#roomCreateRequest", "invitedPlayerIds": [b.player_id]}
    room = ctx.ok("rejects_invalid_input", ctx.call(a, "create", body=body), "create")
    return str(room["roomId"])


def bad_parameters(ctx: SuiteContext) -> None:
    room_id = _own_room(ctx)
    for bad in BAD_PARAMETERS:
        _expect_4xx(ctx, "rejects_invalid_input", bad, room_id)
    ctx.call(ctx.players[0], "leave", room_id, body={"kind": "games#roomLeaveRequest"})


def bad_bodies(ctx: SuiteContext) -> None:
    room_id = _own_room(ctx)
    for bad in BAD_BODIES:
        _expect_4xx(ctx, "rejects_invalid_input", bad, room_id)
    ctx.call(ctx.players[0], "leave", room_id, body={"kind": "games#roomLeaveRequest"})


def _operation_bodies() -> dict[str, Any]:
    return {
        "create": {"kind": "games#roomCreateRequest", "invitedPlayerIds": ["rooms-kit-nobody"]},
        "join": {"kind": "games#roomJoinRequest"},
        "leave": {"kind": "games#roomLeaveRequest"},
        "reportStatus": {"kind": "games#roomP2PStatuses", "updates": []},
    }


def credentials(ctx: SuiteContext) -> None:
    """Every operation without a token, with a token nobody issued (as a bearer header and as the
    ``oauth_token`` parameter), and with a non-bearer scheme."""
    check = "requires_credentials"
    room_id = _own_room(ctx)
    bodies = _operation_bodies()
    attempts: list[tuple[str, str | None, dict[str, str] | None, dict[str, str] | None]] = [
        ("no Authorization header", None, None, None),
        ("a token nobody issued", INVALID_TOKEN, None, None),
        ("an oauth_token nobody issued", None, None, {"oauth_token": INVALID_TOKEN}),
        ("a Basic instead of a Bearer scheme", None, {"Authorization": "Basic cm9vbXM6a2l0"}, None),
    ]
    for short in sorted(op.short for op in ctx.openapi.operations.values()):
        for why, token, headers, query in attempts:
            exchange = ctx.call(
                None,
                short,
                room_id,
                token=token,
                headers=headers,
                query=query,
                body=bodies.get(short),
            )
            status = exchange.response.status
            if status == 401:
                ctx.results.record_pass(check, exchange.operation)
                continue
            failure = ContractFailure(
                check,
                f"{why}: answered {status}",
                "a request without valid credentials gets 401",
                exchange=exchange,
            )
            ctx.results.record_failure(failure, exchange.operation, ctx.unit, exchange)
    ctx.call(ctx.players[0], "leave", room_id, body={"kind": "games#roomLeaveRequest"})

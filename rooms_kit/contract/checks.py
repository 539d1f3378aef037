"""Named checks. Each one looks at one thing and raises ``ContractFailure`` with a title.

Response checks run on every exchange the suite makes, whatever produced it:

- ``not_a_server_error``      no 5xx, ever
- ``documented_status``       the status is one the OpenAPI document lists for the operation
- ``json_content_type``       a body travels as ``application/json``; a 204 has no body
- ``error_envelope``          every error carries Google's envelope with ``code`` equal to the status
- ``openapi_response_schema`` a success body matches the operation's schema in ``openapi.json``
- ``strict_schema``           ... and the kit's own schemas in strict mode (unknown properties,
                              ``kind`` constants, enumerations, ECMA-262 patterns)
- ``int64_strings``           every int64 field is a string of decimal digits within range

Behaviour checks are raised by the scenarios (``scenarios.py``) and the negative requests
(``negative.py``) under the names listed in ``BEHAVIOUR_CHECKS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.http import Exchange
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.schemas.patterns import compile_ecma
from rooms_kit.validation import Validators

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_LISTED_ERRORS = 5

SUCCESS_KINDS = {
    "games.rooms.create": "games#room",
    "games.rooms.decline": "games#room",
    "games.rooms.get": "games#room",
    "games.rooms.join": "games#room",
    "games.rooms.leave": "games#room",
    "games.rooms.list": "games#roomList",
    "games.rooms.reportStatus": "games#roomStatus",
}

# Checks raised by scenarios and negative requests, with what each one holds the server to.
BEHAVIOUR_CHECKS: dict[str, str] = {
    "rejects_invalid_input": "an invalid parameter or body gets a 4xx, never a 2xx or 5xx",
    "requires_credentials": "a request without valid credentials gets 401, never data",
    "invitation_listed": "an invitation appears in the invitee's list",
    "dismiss_hides_invitation": "a dismissed invitation leaves the invitee's list",
    "decline_hides_invitation": "a declined invitation leaves the invitee's list",
    "participant_status": "join and leave change the caller's participant status",
    "room_lifecycle": "a room becomes active once everyone is connected, deleted once all left",
    "deleted_room_final": "a deleted room accepts no join",
    "status_version_monotonic": "roomStatusVersion goes up with every change, never down",
    "create_idempotent": "a retried create with the same requestId gives the same room",
    "paging_complete": "paging with maxResults=1 returns every invitation once, then ends",
    "participants_only": "a player who is not a participant cannot read the room",
    "stateful_links": "a roomId followed through an OpenAPI link is known to the room's participants",
}


@dataclass
class CheckContext:
    """What the checks need: the OpenAPI document and the strict validators."""

    openapi: OpenApi

    @cached_property
    def strict(self) -> Validators:
        return Validators.load(strict=True)

    @cached_property
    def int64_source(self) -> str:
        """The int64 pattern as the document spells it (a known int64 field carries it)."""
        schema = self.openapi.resolve({"$ref": "#/components/schemas/RoomModification"})
        return str(schema["properties"]["modifiedTimestampMillis"]["pattern"])

    @cached_property
    def int64_pattern(self) -> re.Pattern[str]:
        return compile_ecma(self.int64_source)


def _json_body(exchange: Exchange, check: str) -> Any:
    try:
        return exchange.response.json()
    except ValueError:
        raise ContractFailure(
            check, "body is not JSON", exchange.response.body[:200].decode("utf-8", "replace")
        ) from None


def not_a_server_error(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if status >= 500:
        raise ContractFailure(
            "not_a_server_error",
            f"server error {status}",
            "a conformant server answers a client's mistake with a 4xx and never fails itself",
        )


def documented_status(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    documented = ctx.openapi.operation(exchange.operation).statuses
    if str(status) not in documented and f"{str(status)[0]}XX" not in documented:
        raise ContractFailure(
            "documented_status",
            f"undocumented status {status}",
            f"openapi.json lists {', '.join(sorted(documented))} for {exchange.operation}",
        )


def json_content_type(ctx: CheckContext, exchange: Exchange) -> None:
    response = exchange.response
    if response.status == 204:
        if response.body:
            raise ContractFailure("json_content_type", "204 with a body", repr(response.body[:80]))
        return
    content_type = (response.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ContractFailure(
            "json_content_type",
            f"content type {content_type or '(none)'}",
            "every answer with a body must be application/json",
        )
    _json_body(exchange, "json_content_type")


def error_envelope(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if status < 400:
        return
    body = _json_body(exchange, "error_envelope")
    validator = ctx.openapi.validator(ctx.openapi.error_envelope)
    problems = [_describe(e) for e in validator.iter_errors(body)]
    if problems:
        raise ContractFailure(
            "error_envelope", "error without Google's envelope", "; ".join(problems[:5])
        )
    code = body["error"]["code"]
    if code != status:
        raise ContractFailure(
            "error_envelope", f"envelope code {code} differs from HTTP status {status}"
        )
    if not body["error"]["errors"]:
        raise ContractFailure("error_envelope", "envelope with an empty errors list")


def openapi_response_schema(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if not 200 <= status < 300 or status == 204:
        return
    schema = ctx.openapi.response_schema(exchange.operation, status)
    if schema is None:
        return
    body = _json_body(exchange, "openapi_response_schema")
    problems = [_describe(e) for e in ctx.openapi.validator(schema).iter_errors(body)]
    if problems:
        raise ContractFailure(
            "openapi_response_schema",
            f"{len(problems)} schema violation(s) in the {status} body",
            "; ".join(problems[:MAX_LISTED_ERRORS]),
        )


def strict_schema(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    kind = SUCCESS_KINDS.get(exchange.operation)
    if kind is None or not 200 <= status < 300:
        return
    body = _json_body(exchange, "strict_schema")
    issues = ctx.strict.check(body, kind=kind, max_errors=MAX_LISTED_ERRORS)
    if issues:
        text = "; ".join(f"{i.pointer or '/'} ({i.keyword}): {i.message}" for i in issues)
        raise ContractFailure("strict_schema", f"{len(issues)} violation(s) of {kind}", text)


def int64_strings(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if not 200 <= status < 300 or status == 204:
        return
    schema = ctx.openapi.response_schema(exchange.operation, status)
    if schema is None:
        return
    body = _json_body(exchange, "int64_strings")
    bad = list(_int64_problems(ctx, schema, body, ""))
    if bad:
        raise ContractFailure(
            "int64_strings",
            f"{len(bad)} int64 field(s) not sent as decimal strings",
            "; ".join(bad[:MAX_LISTED_ERRORS]),
        )


def _is_int64(ctx: CheckContext, schema: dict[str, Any]) -> bool:
    return schema.get("format") == "int64" or (
        "pattern" in schema and schema["pattern"] == ctx.int64_source
    )


def _int64_problems(ctx: CheckContext, schema: dict[str, Any], value: Any, at: str) -> Any:
    schema = ctx.openapi.resolve(schema)
    if _is_int64(ctx, schema):
        if not isinstance(value, str):
            yield f"{at or '/'}: {type(value).__name__} {value!r} where an int64 string belongs"
        elif not ctx.int64_pattern.search(value) or not INT64_MIN <= int(value) <= INT64_MAX:
            yield f"{at or '/'}: {value!r} is not an int64 in decimal digits"
        return
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                yield from _int64_problems(ctx, sub, value[name], f"{at}/{name}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from _int64_problems(ctx, schema["items"], item, f"{at}/{index}")


def _describe(error: Any) -> str:
    pointer = "".join(f"/{part}" for part in error.absolute_path) or "/"
    return f"{pointer}: {error.message}"


ResponseCheck = Callable[[CheckContext, Exchange], None]

RESPONSE_CHECKS: tuple[tuple[str, ResponseCheck], ...] = (
    ("not_a_server_error", not_a_server_error),
    ("documented_status", documented_status),
    ("json_content_type", json_content_type),
    ("error_envelope", error_envelope),
    ("openapi_response_schema", openapi_response_schema),
    ("strict_schema", strict_schema),
    ("int64_strings", int64_strings),
)


def run_response_checks(
    ctx: CheckContext, exchange: Exchange
) -> list[tuple[str, ContractFailure | None]]:
    """Every response check on one exchange: its name and its failure, or None when it passed."""
    results: list[tuple[str, ContractFailure | None]] = []
    for name, check in RESPONSE_CHECKS:
        try:
            check(ctx, exchange)
        except ContractFailure as failure:
            results.append((name, failure))
        else:
            results.append((name, None))
    return results

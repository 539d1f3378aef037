"""Generated requests from ``openapi.json`` with Schemathesis, per operation.

- ``fuzz: <operation> (positive)``: requests that match the document; every answer goes through
  the response checks (no 5xx, documented status, envelope, schemas, int64 strings).
- ``fuzz: <operation> (negative)``: requests Schemathesis breaks on purpose. The suite checks the
  request *as sent* against the document itself; when it really is invalid (a body or query
  value the schema refuses), the answer must be a 4xx (``rejects_invalid_input``).

Requests carry player A's token (Schemathesis' own credentials are switched off). Generation is
seeded with the run's seed. The operations are those of ``openapi.json``; the chains through the
links are in ``stateful.py``; what both share is in ``generation.py``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from hypothesis import given, seed

from rooms_kit.contract.context import SuiteContext
from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.generation import (
    INTEGER,
    SCHEMATHESIS_CONFIG,
    hypothesis_settings,
    load_schema,
    send_case,
)
from rooms_kit.contract.http import Exchange
from rooms_kit.contract.results import SCENARIO
from rooms_kit.contract.schema_errors import path_pointer
from rooms_kit.contract.stateful import run_stateful
from rooms_kit.contract.units import Unit

if TYPE_CHECKING:
    from rooms_kit.contract.profiles import Profile

__all__ = ["SCHEMATHESIS_CONFIG", "load_schema", "units"]


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
            pointer = path_pointer(errors[0].absolute_path) or "/"
            return f"body {pointer}: {errors[0].message}"
    return None


def _fuzz(ctx: SuiteContext, operation_id: str, mode_name: str, examples: int) -> None:
    from schemathesis import GenerationMode  # noqa: PLC0415

    mode = GenerationMode.POSITIVE if mode_name == "positive" else GenerationMode.NEGATIVE
    operation = load_schema(ctx.schemathesis_config).find_operation_by_id(operation_id)

    @seed(ctx.seed)
    @hypothesis_settings(examples)
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


def units(profile: Profile, operations: list[str]) -> list[Unit]:
    """Generated requests per operation (those of the document), then the stateful chains."""
    found: list[Unit] = []
    for operation_id in operations:
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
            partial(run_stateful, profile=profile),
        )
    )
    return found

"""Rules about what a request deserved, checked on each exchange the proxy sees:

- ``requires_credentials``: a request without credentials never gets a 2xx.
- ``rejects_invalid_input``: a request whose declared query parameters or body break the OpenAPI
  document never gets a 2xx (parameters the document does not declare for the operation, such as
  Google's global ``alt`` or ``fields``, are left alone).
- ``room_id_matches``: an answer about a room is about the room the path names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson

from rooms_kit.contract.failures import ContractFailure, clip
from rooms_kit.contract.http import Exchange
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.traffic.aliases import ANONYMOUS
from rooms_kit.traffic.operations import Route
from rooms_kit.traffic.seen import Seen
from rooms_kit.validation.depth import MAX_DEPTH, deeper_than

MAX_PROBLEMS = 3
RULES = ("requires_credentials", "rejects_invalid_input")
ROOM_RULES = (*RULES, "room_id_matches")
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class InputRules:
    def __init__(self, openapi: OpenApi) -> None:
        self.openapi = openapi
        self._validators: dict[str, Any] = {}
        self._declared: dict[str, dict[str, dict[str, Any]]] = {}
        self._bodies: dict[str, dict[str, Any] | None] = {}

    def _parameters(self, operation: str) -> dict[str, dict[str, Any]]:
        """The operation's query parameters by name (resolved once per operation)."""
        found = self._declared.get(operation)
        if found is None:
            found = self._declared[operation] = {
                name: parameter
                for name, parameter in self.openapi.parameters(operation).items()
                if parameter.get("in") == "query"
            }
        return found

    def _body_schema(self, operation: str) -> dict[str, Any] | None:
        if operation not in self._bodies:
            self._bodies[operation] = self.openapi.request_schema(operation)
        return self._bodies[operation]

    def _validator(self, key: str, schema: dict[str, Any]) -> Any:
        if key not in self._validators:
            self._validators[key] = self.openapi.validator(schema)
        return self._validators[key]

    def problems(self, operation: str, query: str, body: bytes) -> list[str]:
        """What is wrong with a request's declared parameters and body, per the document."""
        found: list[str] = []
        declared = self._parameters(operation)
        pairs = parse_qsl(query, keep_blank_values=True) if query and declared else []
        for name, text in pairs:
            parameter = declared.get(name)
            if parameter is None:
                continue
            schema = self.openapi.resolve(parameter.get("schema", {}))
            value: Any = text
            if schema.get("type") == "integer":
                try:
                    value = int(text)
                except ValueError:
                    found.append(f"query {name}={text!r} is not a whole number")
                    continue
            elif schema.get("type") == "boolean":
                # read as the generated stub reads it: true/1 and false/0, in any case
                value = BOOLEANS.get(text.lower())
                if value is None:
                    found.append(f"query {name}={text!r} is not true or false")
                    continue
            validator = self._validator(f"{operation}?{name}", parameter.get("schema", {}))
            found += [f"query {name}: {e.message}" for e in validator.iter_errors(value)]
        body_schema = self._body_schema(operation)
        if body_schema is not None and body:
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                return [*found, "the body is not JSON"]
            deep = body.count(b"[") + body.count(b"{") > MAX_DEPTH  # a quick look first
            pruned = deep and deeper_than(document, MAX_DEPTH) is not None
            if pruned:
                document = _pruned(document, MAX_DEPTH)
            # jsonschema-rs confirms a good body; a wrong one is described in bounded time (a
            # create naming 150,000 players by numbers took 1.5 s of the event loop)
            errors = self.openapi.errors(body_schema, document, body, read_quickly=not pruned)
            for problem in errors.problems[:MAX_PROBLEMS]:
                found.append(f"body {problem.pointer or '/'}: {clip(problem.message, 200)}")
        return found[:MAX_PROBLEMS]

    def applied(self, seen: Seen, route: Route) -> tuple[str, ...]:
        if not 200 <= seen.status < 300:
            return ()
        if route.room_id is not None and seen.response_body:
            return ROOM_RULES
        return RULES

    def observe(self, seen: Seen, route: Route, data: Exchange) -> list[ContractFailure]:
        if not 200 <= seen.status < 300:
            return []
        found: list[ContractFailure] = []
        if seen.player == ANONYMOUS:
            found.append(
                ContractFailure(
                    "requires_credentials",
                    f"answered {seen.status} without credentials",
                    "a request without a token must get 401",
                )
            )
        problems = self.problems(route.operation, seen.query, seen.request_body)
        if problems:
            found.append(
                ContractFailure(
                    "rejects_invalid_input",
                    f"answered {seen.status} to an invalid request",
                    "; ".join(problems),
                )
            )
        if route.room_id is not None and seen.response_body:
            try:
                body = seen.response_json()
            except ValueError:
                body = None
            answered = body.get("roomId") if isinstance(body, dict) else None
            if isinstance(answered, str) and answered != route.room_id:
                found.append(
                    ContractFailure(
                        "room_id_matches",
                        "the answer is about another room",
                        f"asked about {route.room_id}, answered about {answered}",
                    )
                )
        return found


def _pruned(value: Any, levels: int) -> Any:
    """``value`` with every container below ``levels`` levels emptied (same JSON type). No
    schema is a dozen levels deep, so the verdicts stay the same; but jsonschema quotes a wrong
    value whole, and the repr of one 1,000 levels deep overflowed Python's stack (or not,
    depending on the calls below: the answer must not depend on that)."""
    if isinstance(value, dict):
        return {key: _pruned(item, levels - 1) for key, item in value.items()} if levels else {}
    if isinstance(value, list):
        return [_pruned(item, levels - 1) for item in value] if levels else []
    return value

"""Named checks. Each one looks at one thing and raises ``ContractFailure`` with a title.

Response checks run on every exchange the suite makes, whatever produced it (in this order;
each is registered by ``@response_check`` under its function's name, see ``registry``):

- ``valid_status``            a status within 100-599, and no 1xx nobody asked for
- ``no_redirect``             no 3xx: the suite does not follow redirects, it reports them
- ``not_a_server_error``      no 5xx, ever
- ``documented_status``       the status is one the OpenAPI document lists for the operation
- ``json_content_type``       a body travels as ``application/json``; a 204 has no body
- ``json_body``               a body is UTF-8 JSON nested at most 512 levels deep
- ``error_envelope``          every error carries Google's envelope with ``code`` equal to the status
- ``openapi_response_schema`` a success body matches the operation's schema in ``openapi.json``
- ``strict_schema``           ... and the kit's own schemas in strict mode (unknown properties,
                              ``kind`` constants, enumerations, ECMA-262 patterns)
- ``int64_strings``           every int64 field is a string of decimal digits within range

Checks that need the body as JSON pass over a body that is not (``json_body`` reports it once).
``run_response_checks`` needs only a ``CheckContext`` and an ``Exchange``: it works on exchanges
that did not come from a run (a proxy can use it as is).
Behaviour checks are raised by the scenarios (``scenarios.py``) and the negative requests
(``negative.py``) under the names declared in ``registry``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rooms_kit.contract.failures import ContractFailure, Finding, clip, pointer_pattern
from rooms_kit.contract.http import Exchange, RecordedResponse
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.contract.registry import CHECKS, declare, names
from rooms_kit.contract.schema_errors import DETAILED_ITEMS, SchemaErrors, path_pointer
from rooms_kit.contract.strict_share import share_of
from rooms_kit.formats import INT64_MAX, INT64_MIN
from rooms_kit.schemas.patterns import compile_ecma
from rooms_kit.validation import Validators
from rooms_kit.validation.issues import Issue

MAX_LISTED_ERRORS = 5
MAX_FINDINGS = 20  # distinct places reported per answer
UNJUDGED_SHARE = (
    "the items not described could not be judged: the body holds a value jsonschema-rs cannot "
    "read (a string with a lone surrogate), and the Python validator is not run on a body this "
    "large"
)
MAX_MESSAGE_CHARS = 200  # of one schema error's words: jsonschema quotes the whole offending value

# The behaviour checks with their promises (declared in ``registry``).
BEHAVIOUR_CHECKS: dict[str, str] = {}

ResponseCheck = Callable[["CheckContext", Exchange], None]
RESPONSE_CHECKS: list[tuple[str, ResponseCheck]] = []


def response_check(promise: str) -> Callable[[ResponseCheck], ResponseCheck]:
    """Register a response check under its function's name."""

    def register(check: ResponseCheck) -> ResponseCheck:
        RESPONSE_CHECKS.append((declare(check.__name__, "response", promise), check))
        return check

    return register


class NotJson(Exception):
    """The body is not JSON; ``json_body`` says so, the other checks pass over it."""


@dataclass
class CheckContext:
    """What the checks need: the OpenAPI document and the strict validators."""

    openapi: OpenApi
    # the last answer parsed, its JSON or why it is none, and whether orjson read it: the
    # checks of one exchange share it
    _parsed: tuple[RecordedResponse, Any, str, bool] | None = field(
        default=None, init=False, repr=False
    )

    int64_plans: dict[int, _Int64Plan] = field(default_factory=dict, init=False, repr=False)
    """How the int64 check walks values of each schema node (``_int64_plan``), by its id."""
    int64_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def body(self, exchange: Exchange) -> Any:
        """The answer's body as JSON, parsed once for all the checks of the exchange (an 8 MiB
        body costs a tenth of a second each time); raises ``NotJson`` when it is not JSON."""
        return self.read(exchange)[0]

    def read(self, exchange: Exchange) -> tuple[Any, bool]:
        """``body`` and whether orjson read it (``bounded.read_json``), which lets the schema
        checks hand the same value to jsonschema-rs without parsing the body again."""
        response = exchange.response
        parsed = self._parsed
        if parsed is None or parsed[0] is not response:
            try:
                value, quick = response.reading()
            except ValueError as exc:
                parsed = (response, None, str(exc), False)
            else:
                parsed = (response, value, "", quick)
            self._parsed = parsed
        if parsed[2]:
            raise NotJson(parsed[2])
        return parsed[1], parsed[3]

    def forget(self) -> None:
        """Drop the parsed body (``run_response_checks`` does once the exchange is judged)."""
        self._parsed = None

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

    def place(self, schema: dict[str, Any], pointer: str) -> str:
        """The field a pointer leads to, named in the document's terms: the last named schema
        on the way and the properties after it (``RoomModification.modifiedTimestampMillis``)."""
        node, name = schema, ""
        trail: list[str] = []
        for part in [p for p in pointer.split("/")[1:] if p != ""]:
            node, ref = self._named(node)
            if ref:
                name, trail = ref, []
            if part.isdigit() or part == "*":
                node = node.get("items", {})
                continue
            properties = node.get("properties", {})
            if part not in properties:
                trail.append(part)
                break
            node = properties[part]
            trail.append(part)
        if not trail:
            _, ref = self._named(node)
            name = ref or name
        return ".".join([name or "(body)", *trail])

    def _named(self, node: dict[str, Any]) -> tuple[dict[str, Any], str]:
        name = ""
        while isinstance(node, dict) and "$ref" in node:
            name = str(node["$ref"]).rsplit("/", 1)[-1]
            node = self.openapi.resolve({"$ref": node["$ref"]})
        return node, name

    def findings(
        self, schema: dict[str, Any], problems: list[tuple[str, str, str]]
    ) -> tuple[Finding, ...]:
        """(pointer, keyword, text) problems as findings, one per place and rule."""
        found: dict[tuple[str, str], Finding] = {}
        for pointer, keyword, text in problems:
            pattern = pointer_pattern(pointer)
            key = (pattern, keyword)
            if key not in found and len(found) < MAX_FINDINGS:
                found[key] = Finding(self.place(schema, pattern), pattern, keyword, text)
        return tuple(found.values())


@response_check("the status is within 100-599, with no 1xx before it")
def valid_status(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if not 100 <= status <= 599:
        raise ContractFailure("valid_status", f"status {status} is outside 100-599")
    if exchange.response.interim:
        statuses = ", ".join(str(code) for code in exchange.response.interim)
        raise ContractFailure(
            "valid_status",
            f"interim {statuses} before the answer",
            "the suite sends no Expect header, so no 1xx answer is expected",
        )


@response_check("no redirect (the suite does not follow them)")
def no_redirect(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if 300 <= status < 400:
        location = exchange.response.header("location") or "(no Location header)"
        raise ContractFailure(
            "no_redirect",
            f"redirect {status}, not followed",
            f"to {location}; the API answers in place and the suite does not follow redirects",
        )


@response_check("no 5xx, ever")
def not_a_server_error(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if status >= 500:
        raise ContractFailure(
            "not_a_server_error",
            f"server error {status}",
            "a conformant server answers a client's mistake with a 4xx and never fails itself",
        )


@response_check("the status is one the OpenAPI document lists for the operation")
def documented_status(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if not 100 <= status <= 599 or 300 <= status < 400:
        return  # valid_status or no_redirect reports it
    documented = ctx.openapi.operation(exchange.operation).statuses
    if str(status) not in documented and f"{str(status)[0]}XX" not in documented:
        raise ContractFailure(
            "documented_status",
            f"undocumented status {status}",
            f"openapi.json lists {', '.join(sorted(documented))} for {exchange.operation}",
        )


@response_check("a body travels as application/json; a 204 has no body")
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


@response_check("a body is UTF-8 JSON nested at most 512 levels deep")
def json_body(ctx: CheckContext, exchange: Exchange) -> None:
    response = exchange.response
    if response.status == 204 or 300 <= response.status < 400:
        return
    try:
        ctx.body(exchange)
    except NotJson as exc:
        preview = response.body[:200].decode("utf-8", "replace")
        raise ContractFailure("json_body", f"body is not JSON: {exc}", preview) from None


@response_check("every error carries Google's envelope with code equal to the status")
def error_envelope(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if status < 400:
        return
    body, quick = ctx.read(exchange)
    found = ctx.openapi.errors(
        ctx.openapi.error_envelope, body, exchange.response.body, read_quickly=quick
    )
    if found:
        raise ContractFailure("error_envelope", "error without Google's envelope", _listed(found))
    code = body["error"]["code"]
    if code != status:
        raise ContractFailure(
            "error_envelope", f"envelope code {code} differs from HTTP status {status}"
        )
    if not body["error"]["errors"]:
        raise ContractFailure("error_envelope", "envelope with an empty errors list")


@response_check("a success body matches the operation's schema in openapi.json")
def openapi_response_schema(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if not 200 <= status < 300 or status == 204:
        return
    schema = ctx.openapi.response_schema(exchange.operation, status)
    if schema is None:
        return
    document, quick = ctx.read(exchange)
    found = ctx.openapi.errors(schema, document, exchange.response.body, read_quickly=quick)
    if found:
        problems = [
            (p.pointer or "/", p.keyword, clip(p.message, MAX_MESSAGE_CHARS))
            for p in found.problems
        ]
        raise ContractFailure(
            "openapi_response_schema",
            f"{'' if found.exact else 'at least '}{found.count} schema violation(s) in the "
            f"{status} body"
            if found.count
            else f"{found.unjudged.items} item(s) of the {status} body not judged",
            _listed(found),
            findings=ctx.findings(schema, [*problems, *_unjudged(found)]),
        )


@response_check("a success body matches the kit's own schemas in strict mode")
def strict_schema(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    kind = ctx.openapi.success_kind(exchange.operation)
    if kind is None or not 200 <= status < 300:
        return
    body, quick = ctx.read(exchange)
    share = share_of(body, len(exchange.response.body))
    issues = ctx.strict.check(share.document, kind=kind, max_errors=MAX_FINDINGS, trusted=quick)
    title = f"{len(issues)} violation(s) of {kind}"
    if len(issues) >= MAX_FINDINGS or (issues and share.left_out):
        title = "at least " + title  # more may follow, or lie among the items left out
    fate = "were neither described nor judged (the share described already breaks the schema)"
    if not issues and share.left_out:
        # jsonschema-rs alone: the reference validator would walk the whole body (seconds)
        verdict = ctx.strict.kind(kind).quick_verdict(body)
        fate = "were judged as a whole, not described"
        if verdict is False:
            issues = [Issue(share.first, "strict", "a violation among the items not described")]
            title = f"at least 1 violation(s) of {kind}"  # the first-error test stops at one
        elif verdict is None:
            issues = [Issue(share.first, "strict", UNJUDGED_SHARE)]
            title = f"{share.left_out} item(s) of the {status} body not judged"
            fate = "were not judged"
    if issues:
        text = "; ".join(
            f"{i.pointer or '/'} ({i.keyword}): {i.message}" for i in issues[:MAX_LISTED_ERRORS]
        )
        if share.left_out:
            text += (
                f"; {share.left_out} array item(s) from {share.first} on {fate} (the body is "
                "larger than the strict check describes)"
            )
        schema = ctx.openapi.response_schema(exchange.operation, status) or {}
        problems = [(i.pointer, i.keyword, i.message) for i in issues]
        raise ContractFailure(
            "strict_schema",
            title,
            text,
            findings=ctx.findings(schema, problems),
        )


@response_check("every int64 field is a string of decimal digits within range")
def int64_strings(ctx: CheckContext, exchange: Exchange) -> None:
    status = exchange.response.status
    if not 200 <= status < 300 or status == 204:
        return
    schema = ctx.openapi.response_schema(exchange.operation, status)
    if schema is None:
        return
    body = ctx.body(exchange)
    bad = _int64_problems(ctx, schema, body)
    if bad:
        raise ContractFailure(
            "int64_strings",
            f"{len(bad)} int64 field(s) not sent as decimal strings",
            "; ".join(f"{at}: {text}" for at, _, text in bad[:MAX_LISTED_ERRORS]),
            findings=ctx.findings(schema, bad),
        )


INT64_PLANS_LIMIT = 4096
"""Schema nodes whose plan ``_int64_plan`` remembers before it starts over."""


def _is_int64(ctx: CheckContext, schema: dict[str, Any]) -> bool:
    return schema.get("format") == "int64" or (
        "pattern" in schema and schema["pattern"] == ctx.int64_source
    )


Problem = tuple[str, str, str]
"""Where (a JSON pointer), the keyword, and the words."""


class _Int64Plan:
    """How ``_int64_walk`` goes through values of one schema node: whether the node is an int64
    field, and else only the properties (and the items) under which one can be."""

    __slots__ = ("items", "node", "properties", "scalar", "string")

    def __init__(self, node: dict[str, Any]) -> None:
        self.node = node  # kept, so that the id this plan is remembered by is not reused
        self.string = False  # an int64 field itself
        self.properties: list[tuple[str, _Int64Plan]] = []
        self.items: _Int64Plan | None = None
        self.scalar = False  # the items are int64 fields (so a value of any type is looked at)

    @property
    def empty(self) -> bool:
        return not (self.string or self.properties or self.items)


def _int64_plan(ctx: CheckContext, schema: dict[str, Any]) -> _Int64Plan:
    """The plan of ``schema``, worked out once per node: an 8 MiB list of rooms took the walk
    half a second when it resolved and tried every property of every value. A plan is published
    only once complete, and worked out under a lock (the proxy's judging thread and another
    proxy's may share a context); a reference is followed first, so the copy of a response schema
    that every exchange gets adds no plan of its own."""
    schema = ctx.openapi.resolve(schema)
    found = ctx.int64_plans.get(id(schema))
    if found is not None and found.node is schema:
        return found
    with ctx.int64_lock:
        return _planned(ctx, schema, {})


def _planned(
    ctx: CheckContext, schema: dict[str, Any], planning: dict[int, _Int64Plan]
) -> _Int64Plan:
    known = ctx.int64_plans
    found = known.get(id(schema)) or planning.get(id(schema))
    if found is not None and found.node is schema:
        return found  # (one being planned refers back to itself: walked, to be safe)
    plan = planning[id(schema)] = _Int64Plan(schema)
    resolved = ctx.openapi.resolve(schema)
    plan.string = True
    if not _is_int64(ctx, resolved):
        for name, sub in resolved.get("properties", {}).items():
            below = _planned(ctx, sub, planning)
            if not below.empty:
                plan.properties.append((name, below))
        if "items" in resolved:
            below = _planned(ctx, resolved["items"], planning)
            if not below.empty:
                plan.items, plan.scalar = below, below.string and not below.properties
        plan.string = False
    del planning[id(schema)]
    if len(known) >= INT64_PLANS_LIMIT:
        known.clear()
    known[id(schema)] = plan
    return plan


def _int64_problems(ctx: CheckContext, schema: dict[str, Any], value: Any) -> list[Problem]:
    found: list[Problem] = []
    _int64_walk(ctx, _int64_plan(ctx, schema), value, [], found)
    return found


def _int64_walk(
    ctx: CheckContext, plan: _Int64Plan, value: Any, path: list[str], found: list[Problem]
) -> None:
    if plan.string:
        problem = _int64_problem(ctx, value)
        if problem is not None:
            found.append(("".join(path) or "/", *problem))
        return
    if isinstance(value, dict):
        for name, below in plan.properties:
            if name in value:
                path.append(f"/{name}")
                _int64_walk(ctx, below, value[name], path, found)
                path.pop()
    elif isinstance(value, list) and plan.items is not None:
        items, containers_only = plan.items, not plan.scalar
        for index, item in enumerate(value):
            if not containers_only or isinstance(item, dict | list):
                path.append(f"/{index}")
                _int64_walk(ctx, items, item, path, found)
                path.pop()


def _int64_problem(ctx: CheckContext, value: Any) -> tuple[str, str] | None:
    """What is wrong with ``value`` where an int64 string belongs (keyword, words), if anything."""
    if not isinstance(value, str):
        shown = clip(repr(value), MAX_MESSAGE_CHARS)
        return "type", f"{type(value).__name__} {shown} where an int64 string belongs"
    if not ctx.int64_pattern.search(value) or not INT64_MIN <= int(value) <= INT64_MAX:
        return "int64", f"{clip(repr(value), MAX_MESSAGE_CHARS)} is not an int64 in decimal digits"
    return None


def _listed(found: SchemaErrors) -> str:
    """The first violations described, then what was left out of the description."""
    listed = [
        f"{p.pointer or '/'}: {clip(p.message, MAX_MESSAGE_CHARS)}"
        for p in found.problems[:MAX_LISTED_ERRORS]
    ]
    if found.failing.items:
        listed.append(
            f"{found.failing.items} more failing item(s) counted, not described (the first at "
            f"{found.failing.first})"
        )
    if found.unjudged.items:
        listed.append(_unjudged_text(found))
    return "; ".join(listed)


def _unjudged_text(found: SchemaErrors) -> str:
    return (
        f"{found.unjudged.items} item(s) not judged (the first at {found.unjudged.first}): they "
        f"hold values only Python reads (NaN, Infinity, integers beyond 64 bits, lone "
        f"surrogates), and {DETAILED_ITEMS} such items per list is what is judged in detail"
    )


def _unjudged(found: SchemaErrors) -> list[tuple[str, str, str]]:
    """Items not judged as a problem of their own (a body no quick reader can read)."""
    if not found.unjudged.items:
        return []
    return [(found.unjudged.first, "unjudged", _unjudged_text(found))]


def _describe(error: Any) -> str:
    return f"{path_pointer(error.absolute_path) or '/'}: {_message(error)}"


def _message(error: Any) -> str:
    return clip(error.message, MAX_MESSAGE_CHARS)


BEHAVIOUR_CHECKS.update({name: CHECKS[name].promise for name in names("behaviour")})


def run_response_checks(
    ctx: CheckContext, exchange: Exchange
) -> list[tuple[str, ContractFailure | None]]:
    """Every response check on one exchange: its name and its failure, or None when it passed."""
    results: list[tuple[str, ContractFailure | None]] = []
    try:
        for name, check in RESPONSE_CHECKS:
            try:
                check(ctx, exchange)
            except ContractFailure as failure:
                # without its traceback: its frames hold the parsed body, and the result holding
                # the failure would make a cycle of them (freed only by a full collection, which
                # took 0.2-0.6 s with the interpreter lock held for an 8 MiB answer)
                failure.__context__ = None  # a caught exception's traceback, frames and all
                results.append((name, failure.with_traceback(None)))
            except NotJson:
                continue  # json_body reports it
            else:
                results.append((name, None))
    finally:
        ctx.forget()
    return results

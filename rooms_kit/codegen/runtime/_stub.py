"""The machinery behind ``rooms_api.server``: routing, parameters, bodies, auth and errors.

Import the public names from ``rooms_api.server``; this module may change between versions.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, quote, unquote

import orjson
from pydantic import BaseModel, ValidationError
from rooms_kit.schemas import SchemaSet
from rooms_kit.validation import Issue, Validators
from rooms_kit.validation.depth import deeper_than
from rooms_kit.validation.numbers import WideIntegerError
from rooms_kit.validation.numbers import load as load_json
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from rooms_api import _api
from rooms_api.fields import FieldSelectorError, parse_fields, select_fields

logger = logging.getLogger(__name__)

SERVICE_PREFIX = "/" + _api.SERVICE_PATH
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
INT64_PATTERN = re.compile(_api.INT64_PATTERN)
# Query integers are ASCII digits with an optional minus sign: no "+", "_", spaces or other
# scripts' digits, all of which Python's int() would accept.
INT_PATTERN = re.compile(r"-?[0-9]{1,20}")
WIDE_INT = re.compile(r"-?[0-9]+")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""Largest request body ``create_app`` accepts by default (1 MiB); larger ones get 413."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects accepted in a request body (the schemas need 5)."""
MAX_JSON_VALUES = 4096
"""Most values (members and items, at any depth) accepted in a request body: one of the rooms API
holds a few hundred at most, and each value the schemas refuse costs the validators tens of
microseconds (680 kB of numbers where player ids belong held the event loop for 10 s)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    player_id: str


@runtime_checkable
class Authenticator(Protocol):
    """Turns a bearer token into the calling player, or ``None`` when the token is not valid."""

    async def __call__(self, token: str) -> Principal | None: ...


MAX_MESSAGE_CHARS = 400
"""Longest error message an answer carries; longer ones are cut (see ``clip``)."""
MAX_LOCATION_CHARS = 200
"""Longest ``location`` (parameter name or JSON pointer) an error answer carries."""


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


class ApiError(Exception):
    """Raise from a handler to answer with an error in Google's envelope.

    ``reason`` is one of Google's short codes (``notFound``, ``conflict``, ``forbidden`` …);
    ``location`` and ``location_type`` optionally name the offending parameter or JSON pointer.
    """

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        location: str | None = None,
        location_type: str | None = None,
    ) -> None:
        # Messages and locations often quote what the client sent (a path, a property name):
        # clipped, so an error answer never grows with the request.
        message = clip(message, MAX_MESSAGE_CHARS)
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.location = None if location is None else clip(location, MAX_LOCATION_CHARS)
        self.location_type = location_type

    def envelope(self) -> dict[str, Any]:
        """The JSON body: ``{"error": {"code", "message", "errors": [...]}}``."""
        item: dict[str, Any] = {"domain": "global", "reason": self.reason, "message": self.message}
        if self.location is not None:
            item["location"] = self.location
        if self.location_type is not None:
            item["locationType"] = self.location_type
        return {"error": {"code": self.status, "message": self.message, "errors": [item]}}


@dataclass(frozen=True)
class Query:
    """A query parameter of one operation and how to convert its text."""

    wire: str
    py_name: str
    kind: str  # "string", "int32", "int64" or "boolean"
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Operation:
    """One row of the routing table that ``rooms_api.server`` generates."""

    name: str
    py_name: str
    method: str
    segments: tuple[str, ...]  # "{roomId}" marks a path parameter
    query: tuple[Query, ...]
    request_kind: str | None
    request_model: type[BaseModel] | None
    response_kind: str | None
    response_model: type[BaseModel] | None
    success_status: int


# Query parameters every operation accepts; only ``alt``, ``prettyPrint``, ``fields`` and
# ``oauth_token`` change what the stub does, the others are accepted and ignored.
GLOBAL_QUERY = frozenset(_api.GLOBAL_QUERY_PARAMETERS)


def _match(
    operations: Sequence[Operation], segments: Sequence[str]
) -> list[tuple[Operation, dict[str, str]]]:
    found = []
    for op in operations:
        if len(op.segments) != len(segments):
            continue
        params: dict[str, str] = {}
        for pattern, actual in zip(op.segments, segments, strict=True):
            if pattern.startswith("{"):
                params[pattern[1:-1]] = unquote(actual)
            elif pattern != actual:
                break
        else:
            found.append((op, params))
    return found


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.decode("latin-1").split("?", 1)[0]
    return quote(request.scope["path"])


def _parse_bool(wire: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise _invalid_parameter(wire, f"Invalid boolean value for {wire}: {value!r}")


def _invalid_parameter(wire: str, message: str) -> ApiError:
    return ApiError(400, "invalidParameter", message, location=wire, location_type="parameter")


def _convert(query: Query, value: str) -> Any:
    if query.kind == "int32":
        if not INT_PATTERN.fullmatch(value):
            # ASCII digits past INT_PATTERN's 20 are still an integer, just far out of range.
            what = "is out of range" if WIDE_INT.fullmatch(value) else "is not an integer"
            raise _invalid_parameter(
                query.wire, f"Invalid value for {query.wire}: {value!r} {what}"
            )
        number = int(value, 10)
        if query.minimum is not None and number < query.minimum:
            raise _invalid_parameter(
                query.wire, f"Invalid value for {query.wire}: {number} is below {query.minimum}"
            )
        if query.maximum is not None and number > query.maximum:
            raise _invalid_parameter(
                query.wire, f"Invalid value for {query.wire}: {number} is above {query.maximum}"
            )
        return number
    if query.kind == "int64":
        if not INT64_PATTERN.fullmatch(value):
            raise _invalid_parameter(
                query.wire, f"Invalid value for {query.wire}: {value!r} is not a 64-bit integer"
            )
        return value
    if query.kind == "boolean":
        return _parse_bool(query.wire, value)
    return value


def _bearer(request: Request, query: Mapping[str, str]) -> str | None:
    headers = request.headers.getlist("authorization")
    if len(headers) > 1:  # which player is calling would be a guess, as for two oauth_token
        raise ApiError(
            400,
            "badRequest",
            "Header Authorization is given more than once",
            location="Authorization",
            location_type="header",
        )
    header = headers[0] if headers else None
    in_query = query.get("oauth_token") or None
    if header is None:
        return in_query
    scheme, _, token = header.partition(" ")
    given = token.strip() if scheme.lower() == "bearer" else ""
    # A header without a bearer token (empty, or another scheme) and an oauth_token differ too.
    if in_query is not None and in_query != given:  # two callers: a guess either way
        raise ApiError(
            400,
            "badRequest",
            "The Authorization header and the oauth_token parameter carry different tokens",
            location="oauth_token",
            location_type="parameter",
        )
    return given or None


def _not_json(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """What is wrong with a body orjson refused, and where: the first byte that is not UTF-8,
    or the reader's complaint with its line and column."""
    if "UTF-8" in exc.msg:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return (
                f"Parse Error: the body is not UTF-8 text (byte offset {bad.start}: "
                f"0x{raw[bad.start]:02x})"
            )
    return f"Parse Error: the body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"


def _crowded(value: Any, limit: int = MAX_JSON_VALUES) -> tuple[str | int, ...] | None:
    """The path of the object or array in which the values of ``value`` pass ``limit``, counted
    level by level in document order (counting stops there); None when there are at most
    ``limit``."""
    count = 0
    queue: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    for path, node in queue:  # grows while it is read; at most ``limit`` containers
        members = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in members:
            count += 1
            if count > limit:
                return path
            if isinstance(child, dict | list):
                queue.append(((*path, key), child))
    return None


def _pointer(parts: Sequence[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _declared_length(request: Request) -> int | None:
    """The Content-Length header as a number, ``None`` without one; 400 when it is malformed."""
    header = request.headers.get("content-length")
    if header is None:
        return None
    if not INT_PATTERN.fullmatch(header) or header.startswith("-"):
        raise ApiError(
            400,
            "badRequest",
            "Content-Length must be a decimal number of bytes",
            location="Content-Length",
            location_type="header",
        )
    return int(header)


def _describe(issue: Issue) -> tuple[str, str]:
    """The JSON pointer and message of a validation issue.

    For an unknown property the pointer names that property rather than the object holding it.
    """
    pointer = issue.locate_at or issue.pointer
    message = issue.message
    if issue.expected:
        message += f"; expected {issue.expected}"
    return pointer, message


class Stub:
    """Serves ``operations`` with ``handler``; ``endpoint`` is the Starlette endpoint."""

    def __init__(
        self,
        operations: Sequence[Operation],
        handler: object,
        authenticator: Authenticator,
        *,
        validate_responses: bool,
        strict_requests: bool,
        schemas: SchemaSet,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.operations = tuple(operations)
        self.max_body_bytes = max_body_bytes
        self.handler = handler
        # A handler that declares ``wire_dicts = True`` (a ``WireRoomsHandler``) takes the checked
        # body dict and returns its reply as a wire dict: no pydantic model either way.
        self.wire_dicts = getattr(handler, "wire_dicts", False) is True
        self.authenticator = authenticator
        self.validate_responses = validate_responses
        self.strict_requests = strict_requests
        self.request_validators = Validators(schemas, strict=strict_requests)
        self.response_validators = Validators(schemas, strict=True)

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point for every HTTP request (websockets are closed at once)."""
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)

    async def endpoint(self, request: Request) -> Response:
        pretty = True
        try:
            query, repeated = self._query(request)
            if repeated == "oauth_token":  # two tokens: refused first, whatever they say
                raise _invalid_parameter(repeated, f"Parameter {repeated} is given more than once")
            token = _bearer(request, query)  # two different tokens: 400 before anything else
            if repeated is not None:
                raise _invalid_parameter(repeated, f"Parameter {repeated} is given more than once")
            pretty = _parse_bool("prettyPrint", query.get("prettyPrint", "true"))
            return await self._dispatch(request, query, pretty, token)
        except ApiError as exc:
            return _error_response(exc, pretty)
        except ClientDisconnect:
            # The client went away (or the server dropped it) before its body arrived; nobody
            # reads this answer, and nothing went wrong on the server's side.
            return _error_response(ApiError(400, "badRequest", "Incomplete request body"), pretty)
        except Exception:
            logger.exception("handler failed on %s %s", request.method, request.url.path)
            return _error_response(ApiError(500, "backendError", "Internal error."), pretty)

    def _query(self, request: Request) -> tuple[dict[str, str], str | None]:
        """The query's parameters (the first value of each) and the first one given twice."""
        pairs = parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), True)
        query: dict[str, str] = {}
        repeated: str | None = None
        for key, value in pairs:
            if key in query:
                if repeated is None or key == "oauth_token":
                    repeated = key
                continue
            query[key] = value
        return query, repeated

    async def _dispatch(
        self, request: Request, query: dict[str, str], pretty: bool, token: str | None
    ) -> Response:
        path = _raw_path(request)
        if not path.startswith(SERVICE_PREFIX):
            raise ApiError(404, "notFound", f"No such path: {request.url.path}")
        candidates = _match(self.operations, path[len(SERVICE_PREFIX) :].split("/"))
        if not candidates:
            raise ApiError(404, "notFound", f"No such path: {request.url.path}")
        # HEAD is answered as GET is, without the body (the HTTP server leaves it out).
        wanted = "GET" if request.method == "HEAD" else request.method
        chosen = [(op, params) for op, params in candidates if op.method == wanted]
        if not chosen:
            methods = {op.method for op, _ in candidates}
            allowed = ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))
            error = ApiError(405, "httpMethodNotAllowed", f"Method {request.method} not allowed")
            response = _error_response(error, pretty)
            response.headers["Allow"] = allowed
            return response
        op, path_params = chosen[0]
        for name, value in path_params.items():
            if not value:
                raise ApiError(
                    400,
                    "required",
                    f"Required parameter: {name}",
                    location=name,
                    location_type="parameter",
                )
        kwargs = self._query_arguments(op, query)
        declared = _declared_length(request)
        if declared is not None and declared > self.max_body_bytes:
            raise self._too_large(f"declares {declared} bytes, more")
        selector = None
        if query.get("fields"):
            try:
                selector = parse_fields(query["fields"])
            except FieldSelectorError as exc:
                raise _invalid_parameter("fields", f"Invalid field selection: {exc}") from None
        principal = await self._authenticate(token)
        args: list[Any] = [principal, *path_params.values()]
        if op.request_model is not None:
            args.append(await self._body(request, op))
        method = getattr(self.handler, op.py_name, None)
        if method is None:
            raise _not_implemented(op)
        try:
            result = await method(*args, **kwargs)
        except NotImplementedError:
            raise _not_implemented(op) from None
        return self._reply(op, result, pretty, selector)

    def _query_arguments(self, op: Operation, query: Mapping[str, str]) -> dict[str, Any]:
        alt = query.get("alt", "json")
        if alt != "json":
            raise _invalid_parameter("alt", f"Unsupported value for alt: {alt!r}; only json")
        known = {q.wire: q for q in op.query}
        kwargs: dict[str, Any] = {}
        for wire, value in query.items():
            if wire in known:
                kwargs[known[wire].py_name] = _convert(known[wire], value)
            elif wire not in GLOBAL_QUERY and self.strict_requests:
                raise _invalid_parameter(wire, f"Unknown parameter: {wire}")
        return kwargs

    async def _authenticate(self, token: str | None) -> Principal:
        if token is None:
            raise ApiError(
                401,
                "authError",
                "Login Required.",
                location="Authorization",
                location_type="header",
            )
        principal = await self.authenticator(token)
        if principal is None:
            raise ApiError(
                401,
                "authError",
                "Invalid Credentials",
                location="Authorization",
                location_type="header",
            )
        return principal

    async def _body(self, request: Request, op: Operation) -> BaseModel | dict[str, Any]:
        assert op.request_kind is not None and op.request_model is not None
        raw = await self._read_body(request)
        try:
            # integers past 64 bits are read exactly, so that a message shows what was sent
            data = load_json(raw) if raw.strip() else {}
        except WideIntegerError:
            raise ApiError(
                400,
                "parseError",
                f"Parse Error: an integer has more than {sys.get_int_max_str_digits()} digits",
            ) from None
        except orjson.JSONDecodeError as exc:
            if "depth" in exc.msg:  # well-formed, perhaps, but deeper than the reader goes
                raise ApiError(
                    400,
                    "parseError",
                    f"Parse Error: the body nests deeper than {MAX_JSON_DEPTH} levels",
                ) from None
            if "infinity" in exc.msg:  # JSON, but no double holds it
                raise ApiError(
                    400, "parseError", "Parse Error: a number is beyond the largest double"
                ) from None
            raise ApiError(400, "parseError", _not_json(raw, exc)) from None
        # counted first: it stops at the limit, while the depth walk reads every value
        crowded = _crowded(data) if isinstance(data, dict | list) else None
        if crowded is not None:
            pointer = _pointer(crowded)
            raise ApiError(
                400,
                "invalid",
                f"Invalid value at '{pointer}': the body holds more than {MAX_JSON_VALUES} "
                f"values; this server reads at most {MAX_JSON_VALUES}",
                location=pointer,
                location_type="body",
            )
        deep = deeper_than(data, MAX_JSON_DEPTH)
        if deep is not None:
            pointer = _pointer(deep)
            raise ApiError(
                400,
                "invalid",
                f"Invalid value at '{pointer}': nested deeper than {MAX_JSON_DEPTH} levels",
                location=pointer,
                location_type="body",
            )
        errors = self.request_validators.kind(op.request_kind).errors(
            data,
            max_errors=1,
            trusted=True,  # read by orjson above
        )
        if errors:
            pointer, message = _describe(errors[0])
            raise ApiError(
                400,
                "invalid",
                f"Invalid value at '{pointer}': {message}",
                location=pointer,
                location_type="body",
            )
        if self.wire_dicts:
            if not isinstance(data, dict):  # the schemas already refuse this; kept for safety
                raise ApiError(
                    400,
                    "invalid",
                    "Invalid value at '': expected an object",
                    location="",
                    location_type="body",
                )
            return data
        try:
            return op.request_model.model_validate(data)
        except ValidationError as exc:
            detail = exc.errors()[0]
            pointer = _pointer(list(detail["loc"]))
            raise ApiError(
                400,
                "invalid",
                f"Invalid value at '{pointer}': {detail['msg']}",
                location=pointer,
                location_type="body",
            ) from None

    async def _read_body(self, request: Request) -> bytes:
        """The body, read chunk by chunk and refused (413) as soon as it passes the cap."""
        body = bytearray()
        async for chunk in request.stream():
            if len(body) + len(chunk) > self.max_body_bytes:
                raise self._too_large("is longer")
            body += chunk
        return bytes(body)

    def _too_large(self, what: str) -> ApiError:
        return ApiError(
            413,
            "requestTooLarge",
            f"The request body {what} than the limit of {self.max_body_bytes} bytes",
        )

    def _reply(self, op: Operation, result: object, pretty: bool, selector: Any) -> Response:
        if op.response_model is None or op.response_kind is None:
            return Response(status_code=op.success_status)
        data: Any
        if self.wire_dicts and isinstance(result, dict):
            data = result  # sent as the handler wrote it (checked below when asked)
        else:
            if isinstance(result, op.response_model):
                model = result
            else:
                model = op.response_model.model_validate(result)
            data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self.validate_responses:
            validator = self.response_validators.kind(op.response_kind)
            errors = validator.errors(data, max_errors=1)
            if errors:
                pointer, message = _describe(errors[0])
                logger.error(
                    "response of %s breaks the schema at %s: %s", op.name, pointer, message
                )
                raise ApiError(
                    500,
                    "backendError",
                    f"Response of {op.name} breaks the schema at '{pointer}': {message}",
                )
        if selector is not None:
            data = select_fields(data, selector)
        return _json_response(op.success_status, data, pretty)


def _not_implemented(op: Operation) -> ApiError:
    return ApiError(501, "notImplemented", f"Operation {op.name} is not implemented")


def _json_response(status: int, data: Any, pretty: bool) -> Response:
    # orjson writes UTF-8 as it is (no \u escapes) and rejects NaN, like Google's servers.
    if pretty:
        body = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    else:
        body = orjson.dumps(data)
    return Response(body, status_code=status, media_type=JSON_CONTENT_TYPE)


def _error_response(error: ApiError, pretty: bool) -> Response:
    response = _json_response(error.status, error.envelope(), pretty)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer realm="{_api.RETIRED_ROOT_URL}"'
    if error.status == 413:
        # The rest of the body is not read: the connection cannot carry another request.
        response.headers["Connection"] = "close"
    return response

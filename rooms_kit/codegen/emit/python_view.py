"""Prepares what the Python templates print: annotations, literals and argument lists.

Everything a template needs is computed here, from the intermediate model, as plain strings and
lists; the templates only loop and print.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rooms_kit.codegen.model import Api, Operation, Parameter, TypeRef

PACKAGE = "rooms_api"


def annotation(type_ref: TypeRef) -> str:
    """The Python annotation of a value of ``type_ref`` (without ``| None``)."""
    if type_ref.kind in ("string", "int64"):
        return "str"
    if type_ref.kind == "int32":
        return "int"
    if type_ref.kind == "boolean":
        return "bool"
    if type_ref.kind == "array":
        assert type_ref.item is not None
        return f"list[{annotation(type_ref.item)}]"
    assert type_ref.target is not None
    return type_ref.target


def literal(value: object) -> str:
    """A Python literal for a string, number, bool or None (double quotes, like ruff)."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


@dataclass(frozen=True)
class ParamView:
    wire: str
    wire_literal: str
    py_name: str
    py_name_literal: str
    annotation: str
    kind_literal: str
    minimum: str
    maximum: str
    description: str


@dataclass(frozen=True)
class OperationView:
    name: str
    name_literal: str
    py_name: str
    py_name_literal: str
    operation_id: str
    method: str
    method_literal: str
    path: str  # "rooms/{roomId}/join"
    path_literal: str
    segments: tuple[str, ...]  # literals
    query: tuple[ParamView, ...]  # same as keyword
    request_kind_literal: str
    request_model: str
    response_kind_literal: str
    response_model: str
    return_annotation: str
    success_status: int
    docstring: str
    path_expression: str  # Python expression of the path below the service path
    body_argument: str
    # Lines prepared here so that templates only loop and print:
    parameter_lines: tuple[str, ...]  # the method's parameters after ``self`` (and principal)
    wire_parameter_lines: tuple[str, ...]  # the same, with the body as a wire dict
    wire_return_annotation: str  # what a wire-dict handler method returns
    query_lines: tuple[str, ...]  # entries of the query dictionary a client sends
    reply_lines: tuple[str, ...]  # how a client method ends: parse the reply or drop it
    prepare_lines: tuple[str, ...]  # what a client method does to its arguments before sending
    replayable: str  # "True" when the request may be sent again after it reached the server
    notes: tuple[str, ...]  # extra docstring lines of a client method (retry behaviour)
    doc_sections: tuple[str, ...]  # Args, Returns and Raises of a client method's docstring


@dataclass(frozen=True)
class PageView:
    """A paged operation: a ``pageToken`` parameter and a reply with ``nextPageToken`` + items."""

    py_name: str
    pages_name: str
    all_name: str
    keyword: tuple[ParamView, ...]
    keyword_without_token: tuple[ParamView, ...]
    token_py_name: str
    call_arguments: tuple[tuple[str, str], ...]  # keyword arguments of the per-page call
    response_model: str
    next_token_attr: str
    items_attr: str
    item_model: str


def _param(param: Parameter) -> ParamView:
    return ParamView(
        wire=param.wire_name,
        wire_literal=literal(param.wire_name),
        py_name=param.py_name,
        py_name_literal=literal(param.py_name),
        annotation=annotation(param.type) + ("" if param.required else " | None"),
        kind_literal=literal(param.type.kind),
        minimum=literal(param.minimum),
        maximum=literal(param.maximum),
        description=param.description,
    )


def _kind_of(api: Api, class_name: str | None) -> str | None:
    return api.model(class_name).kind if class_name else None


WIRE_DICT = "dict[str, Any]"
"""How a wire-dict handler (``WireRoomsHandler``) receives a body and returns a reply."""


def _parameter_lines(
    op: Operation,
    positional: tuple[ParamView, ...],
    keyword: tuple[ParamView, ...],
    *,
    wire: bool = False,
) -> tuple[str, ...]:
    lines = [f"{p.py_name}: {p.annotation}," for p in positional]
    if op.request_model:
        lines.append(f"body: {WIRE_DICT if wire else op.request_model},")
    if keyword:
        lines.append("*,")
    lines += [f"{p.py_name}: {p.annotation} = None," for p in keyword]
    return tuple(lines)


def _query_lines(op: Operation, keyword: tuple[ParamView, ...]) -> tuple[str, ...]:
    lines = [f"{p.wire_literal}: {p.py_name}," for p in keyword]
    if op.response_model is not None:  # Google's clients sent alt=json on every call with a reply
        lines.append('"alt": "json",')
    return tuple(lines)


def _reply_lines(op: Operation) -> tuple[str, ...]:
    if op.response_model is None:
        return ("del response",)
    return (f"return parse_reply({op.response_model}, response)",)


DOC_WIDTH = 88  # docstring lines inside a method body (8 spaces of indentation)
RAISES = (
    ("RoomsHttpError", "the server answered with an error status; the subclass names it"),
    ("RoomsConnectionError", "no HTTP answer came back, after the retries allowed"),
    ("UnexpectedResponseError", "a success answer whose body is not the documented reply"),
)


def _entry(name: str, text: str) -> list[str]:
    """``name: text`` wrapped under a section heading of a Google-style docstring."""
    return textwrap.wrap(
        f"{name}: {text}", DOC_WIDTH, initial_indent="    ", subsequent_indent="        "
    )


def _doc_sections(op: Operation) -> tuple[str, ...]:
    """The Args, Returns and Raises sections of a client method's docstring."""
    lines = ["", "Args:"]
    for param in op.path_parameters:
        lines += _entry(param.py_name, param.description)
    if op.request_model:
        lines += _entry("body", f"the request body, a ``{op.request_model}``.")
    for param in op.query_parameters:
        lines += _entry(param.py_name, param.description)
    lines += ["", "Returns:"]
    if op.response_model:
        lines += _entry(op.response_model, "the reply, parsed and checked.")
    else:
        lines.append("    None: the operation's reply has no body.")
    lines += ["", "Raises:"]
    for name, text in RAISES:
        lines += _entry(name, text + ".")
    return tuple(lines)


REQUEST_ID = "requestId"  # the idempotency key of a request body (rooms.create)


def _request_id_attribute(api: Api, op: Operation) -> str | None:
    """The Python name of the body's int64 ``requestId`` field, when the operation has one."""
    if op.request_model is None:
        return None
    for field in api.model(op.request_model).fields:
        if field.wire_name == REQUEST_ID and field.type.kind == "int64":
            return field.py_name
    return None


def _retry_view(api: Api, op: Operation) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """(prepare lines, replayable, docstring notes) of an operation's client method."""
    key = _request_id_attribute(api, op)
    if key is not None:
        return (
            (f"body = with_request_id(body, {literal(key)})",),
            "True",
            (
                "",
                f"A body without ``{key}`` gets a fresh random one, so a retried request can",
                "never be carried out twice.",
            ),
        )
    if op.http_method == "GET":
        return ((), "True", ())
    return (
        (),
        "False",
        (
            "",
            "Not sent again once it reached the server (it has no idempotency key); only a",
            "connection that could not be made is retried.",
        ),
    )


def operation_view(api: Api, op: Operation) -> OperationView:
    query = tuple(_param(p) for p in op.query_parameters)
    positional = tuple(_param(p) for p in op.path_parameters)
    prepare_lines, replayable, notes = _retry_view(api, op)
    return OperationView(
        doc_sections=_doc_sections(op),
        name=op.name,
        name_literal=literal(op.name),
        py_name=op.py_name,
        py_name_literal=literal(op.py_name),
        operation_id=op.operation_id,
        method=op.http_method,
        method_literal=literal(op.http_method),
        path=op.path,
        path_literal=literal(op.path),
        segments=tuple(literal(s) for s in op.path.split("/")),
        query=query,
        request_kind_literal=literal(_kind_of(api, op.request_model)),
        request_model=op.request_model or "None",
        response_kind_literal=literal(_kind_of(api, op.response_model)),
        response_model=op.response_model or "None",
        return_annotation=op.response_model or "None",
        success_status=op.success_status,
        docstring=op.description,
        path_expression=_path_expression(op),
        body_argument="body" if op.request_model else "None",
        parameter_lines=_parameter_lines(op, positional, query),
        wire_parameter_lines=_parameter_lines(op, positional, query, wire=True),
        wire_return_annotation=WIRE_DICT if op.response_model else "None",
        query_lines=_query_lines(op, query),
        reply_lines=_reply_lines(op),
        prepare_lines=prepare_lines,
        replayable=replayable,
        notes=notes,
    )


def _path_expression(op: Operation) -> str:
    parts = []
    for segment in op.path.split("/"):
        if segment.startswith("{"):
            param = next(p for p in op.path_parameters if p.wire_name == segment[1:-1])
            parts.append("{segment(" + param.py_name + ")}")
        else:
            parts.append(segment)
    joined = "/".join(parts)
    return ("f" if op.path_parameters else "") + literal(joined)


PAGE_TOKEN = "pageToken"
NEXT_PAGE_TOKEN = "nextPageToken"
ITEMS = "items"


def page_views(api: Api) -> list[PageView]:
    """Operations that can be followed page by page."""
    views = []
    for op in api.operations:
        token = next((p for p in op.query_parameters if p.wire_name == PAGE_TOKEN), None)
        if token is None or op.response_model is None:
            continue
        fields = {f.wire_name: f for f in api.model(op.response_model).fields}
        items = fields.get(ITEMS)
        if NEXT_PAGE_TOKEN not in fields or items is None or items.type.item is None:
            continue
        keyword = tuple(_param(p) for p in op.query_parameters)
        views.append(
            PageView(
                py_name=op.py_name,
                pages_name=f"{op.py_name}_pages",
                all_name=f"{op.py_name}_all",
                keyword=keyword,
                keyword_without_token=tuple(p for p in keyword if p.wire != PAGE_TOKEN),
                token_py_name=token.py_name,
                call_arguments=tuple(
                    (p.py_name, "token" if p.wire == PAGE_TOKEN else p.py_name) for p in keyword
                ),
                response_model=op.response_model,
                next_token_attr=fields[NEXT_PAGE_TOKEN].py_name,
                items_attr=items.py_name,
                item_model=items.type.item.target or "",
            )
        )
    return views


def model_imports(api: Api) -> list[str]:
    """Model classes that operations take or return, sorted."""
    names = {op.request_model for op in api.operations} | {
        op.response_model for op in api.operations
    }
    return sorted(n for n in names if n)


@dataclass(frozen=True)
class ClientFlavour:
    """What differs between the blocking and the asynchronous client module."""

    module: str  # file name
    class_name: str
    transport: str  # base class in ``_transport``
    module_doc: str
    class_doc: str
    def_: str  # "def" or "async def"
    await_: str  # "" or "await "
    for_: str  # "for" or "async for"
    iterator: str  # "Iterator" or "AsyncIterator"
    imports: tuple[str, ...]
    exports: tuple[str, ...]  # literals, sorted


def client_flavours(api: Api) -> tuple[ClientFlavour, ClientFlavour]:
    """The blocking client (which re-exports the asynchronous one) and the asynchronous client."""
    blocking = ClientFlavour(
        module="client.py",
        class_name="RoomsClient",
        transport="BlockingTransport",
        module_doc=(
            f"The blocking HTTP client for the {api.title}: ``RoomsClient``.\n\n"
            "One typed method per operation; optional parameters are keyword-only. ``list_pages``\n"
            "and ``list_all`` follow ``nextPageToken`` through every page of ``list``. Requests\n"
            "carry a bearer token; 429 and 5xx answers (and failed connections) are retried with\n"
            "exponential backoff and jitter, honouring ``Retry-After`` up to\n"
            "``RetryPolicy.max_delay``, but only where sending again is safe (see ``RetryPolicy``).\n"
            f"Errors raise the typed, picklable exceptions of ``{PACKAGE}.errors``. ``base_url``\n"
            "is required; it may end with or without the service path ``games/v1/``. Pass\n"
            "``transport=`` (for example ``httpx.MockTransport``) to run the client in-process.\n"
            f"``AsyncRoomsClient`` (from ``{PACKAGE}.async_client``) is re-exported here.\n"
        ),
        class_doc="Blocking client. Use it as a context manager, or call ``close()`` when done.",
        def_="def",
        await_="",
        for_="for",
        iterator="Iterator",
        imports=(f"from {PACKAGE}.async_client import AsyncRoomsClient",),
        exports=('"AsyncRoomsClient"', '"RetryPolicy"', '"RoomsClient"'),
    )
    concurrent = ClientFlavour(
        module="async_client.py",
        class_name="AsyncRoomsClient",
        transport="AsyncTransport",
        module_doc=(
            f"The asynchronous HTTP client for the {api.title}: ``AsyncRoomsClient``.\n\n"
            f"The same operations, paging, retries and errors as ``{PACKAGE}.client.RoomsClient``,\n"
            "awaited. Pass ``transport=httpx.ASGITransport(app)`` to talk to an ASGI application\n"
            "in-process.\n"
        ),
        class_doc="Asynchronous client. Use it as an async context manager, or await ``aclose()``.",
        def_="async def",
        await_="await ",
        for_="async for",
        iterator="AsyncIterator",
        imports=(),
        exports=('"AsyncRoomsClient"', '"RetryPolicy"'),
    )
    return blocking, concurrent


def context(api: Api, header: str) -> dict[str, object]:
    """The context shared by every Python template."""
    return {
        "header": header,
        "api": api,
        "package": PACKAGE,
        "operations": [operation_view(api, op) for op in api.operations],
        "server_imports": model_imports(api),
        "int64_pattern_literal": literal(api.int64_pattern),
        "global_query": [literal(p.wire_name) for p in api.global_parameters],
        "models": [m.class_name for m in api.models],
        "enums": [e.class_name for e in api.enums],
        "api_name_literal": literal(api.name),
        "pageable": page_views(api),
        "base_url_literal": literal(api.root_url),
        "root_imports": root_imports(api),
        "root_all": sorted(literal(n) for _, names in root_imports(api) for n in names),
        "service_path_literal": literal(api.service_path),
        "user_agent_literal": literal(f"games-rooms-kit-{PACKAGE}/{api.version}"),
        "api_version_literal": literal(api.version),
    }


def root_imports(api: Api) -> list[tuple[str, tuple[str, ...]]]:
    """What the package root re-exports, by module: the clients, errors and the models in use."""
    models = set(model_imports(api)) | {page.item_model for page in page_views(api)}
    return [
        ("client", ("AsyncRoomsClient", "RetryPolicy", "RoomsClient")),
        ("errors", tuple(sorted(ERROR_NAMES))),
        ("models", tuple(sorted(models | {e.class_name for e in api.enums}))),
    ]


# the exceptions of the static ``errors`` module that users catch
ERROR_NAMES = (
    "AuthenticationError", "BadRequestError", "ConflictError", "NotFoundError",
    "PermissionDeniedError", "RateLimitError", "RoomsApiError", "RoomsConnectionError",
    "RoomsHttpError", "ServerError", "UnexpectedResponseError",
)  # fmt: skip

"""Prepares what the Python templates print: annotations, literals and argument lists.

Everything a template needs is computed here, from the intermediate model, as plain strings and
lists; the templates only loop and print.
"""

from __future__ import annotations

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
    query_lines: tuple[str, ...]  # entries of the query dictionary a client sends
    reply_lines: tuple[str, ...]  # how a client method ends: parse the reply or drop it


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


def _parameter_lines(
    op: Operation, positional: tuple[ParamView, ...], keyword: tuple[ParamView, ...]
) -> tuple[str, ...]:
    lines = [f"{p.py_name}: {p.annotation}," for p in positional]
    if op.request_model:
        lines.append(f"body: {op.request_model},")
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


def operation_view(api: Api, op: Operation) -> OperationView:
    query = tuple(_param(p) for p in op.query_parameters)
    positional = tuple(_param(p) for p in op.path_parameters)
    return OperationView(
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
        query_lines=_query_lines(op, query),
        reply_lines=_reply_lines(op),
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
        "service_path_literal": literal(api.service_path),
        "user_agent_literal": literal(f"games-rooms-kit-{PACKAGE}/{api.version}"),
        "api_version_literal": literal(api.version),
    }

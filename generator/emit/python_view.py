"""Prepares what the Python templates print: annotations, literals and argument lists.

Everything a template needs is computed here, from the intermediate model, as plain strings and
lists; the templates only loop and print.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import Api, Operation, Parameter, TypeRef

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
    path_literal: str  # "rooms/{roomId}/join"
    segments: tuple[str, ...]  # literals
    positional: tuple[ParamView, ...]  # path parameters
    keyword: tuple[ParamView, ...]  # query parameters
    query: tuple[ParamView, ...]  # same as keyword
    body_name: str | None  # "body" when there is a request body
    body_annotation: str
    request_kind_literal: str
    request_model: str
    response_kind_literal: str
    response_model: str
    return_annotation: str
    success_status: int
    docstring: str
    has_room_id: bool


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


def operation_view(api: Api, op: Operation) -> OperationView:
    query = tuple(_param(p) for p in op.query_parameters)
    return OperationView(
        name=op.name,
        name_literal=literal(op.name),
        py_name=op.py_name,
        py_name_literal=literal(op.py_name),
        operation_id=op.operation_id,
        method=op.http_method,
        method_literal=literal(op.http_method),
        path_literal=literal(op.path),
        segments=tuple(literal(s) for s in op.path.split("/")),
        positional=tuple(_param(p) for p in op.path_parameters),
        keyword=query,
        query=query,
        body_name="body" if op.request_model else None,
        body_annotation=op.request_model or "None",
        request_kind_literal=literal(_kind_of(api, op.request_model)),
        request_model=op.request_model or "None",
        response_kind_literal=literal(_kind_of(api, op.response_model)),
        response_model=op.response_model or "None",
        return_annotation=op.response_model or "None",
        success_status=op.success_status,
        docstring=op.description,
        has_room_id=any(p.wire_name == "roomId" for p in op.path_parameters),
    )


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
        "api_version_literal": literal(api.version),
    }

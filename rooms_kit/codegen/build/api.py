"""Builds the ``Api`` value: identity, global parameters, operations and types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rooms_kit.codegen.build.types import COMMON_FILE, TypeBuilder
from rooms_kit.codegen.load import GeneratorError
from rooms_kit.codegen.model import (
    Api,
    Operation,
    Parameter,
    TypeRef,
    class_name_of_kind,
    snake_case,
)
from rooms_kit.errors import Location
from rooms_kit.schemas import BASE_URI, SchemaSet

OPERATIONS_FILE = "operations.json"
OPERATIONS_URI = BASE_URI + OPERATIONS_FILE


def build_api(schemas: SchemaSet) -> Api:
    """Translate a checked schema set into the intermediate model."""
    types = TypeBuilder(schemas)
    models = types.build_models()
    enums = types.enums()
    doc = schemas.operations
    api = doc["api"]
    global_params = tuple(
        _parameter(types, schemas, p, f"/globalParameters/{i}")
        for i, p in enumerate(doc["globalParameters"])
    )
    operations = tuple(
        sorted(
            (_operation(types, schemas, op, i) for i, op in enumerate(doc["operations"])),
            key=lambda o: o.name,
        )
    )
    return Api(
        name=api["name"],
        version=api["version"],
        title=api["title"],
        root_url=api["rootUrl"],
        service_path=api["servicePath"],
        scopes=tuple(sorted(api["scopes"].items())),
        global_parameters=global_params,
        operations=operations,
        models=models,
        enums=enums,
        int64_pattern=schemas.documents[COMMON_FILE]["$defs"]["int64"]["pattern"],
    )


def _operation(
    types: TypeBuilder, schemas: SchemaSet, op: Mapping[str, Any], index: int
) -> Operation:
    at = f"/operations/{index}"
    params = [
        _parameter(types, schemas, p, f"{at}/parameters/{i}")
        for i, p in enumerate(op["parameters"])
    ]
    params.sort(key=lambda p: p.location != "path")  # stable: keeps file order inside each group
    placeholders = _placeholders(op["path"])
    for name in placeholders:
        if not any(p.wire_name == name and p.location == "path" for p in params):
            raise GeneratorError(
                Location(types.schemas.directory / OPERATIONS_FILE, f"{at}/path"),
                f"no path parameter named {name!r}",
            )
    for position, param in enumerate(op["parameters"]):
        if param["in"] == "path" and param["name"] not in placeholders:
            raise GeneratorError(
                Location(types.schemas.directory / OPERATIONS_FILE, f"{at}/parameters/{position}"),
                f"path parameter {param['name']!r} does not appear in the path {op['path']!r}",
            )
    return Operation(
        name=op["name"],
        py_name=snake_case(op["name"]),
        operation_id=op["id"],
        http_method=op["httpMethod"],
        path=op["path"],
        description=op.get("description", ""),
        parameters=tuple(params),
        request_model=class_name_of_kind(op["requestKind"]) if op["requestKind"] else None,
        response_model=class_name_of_kind(op["responseKind"]) if op["responseKind"] else None,
        success_status=op["successStatus"],
    )


def _placeholders(path: str) -> list[str]:
    names = []
    rest = path
    while "{" in rest:
        start = rest.index("{")
        end = rest.index("}", start)
        names.append(rest[start + 1 : end])
        rest = rest[end + 1 :]
    return names


def _parameter(
    types: TypeBuilder, schemas: SchemaSet, param: Mapping[str, Any], pointer: str
) -> Parameter:
    schema = param["schema"]
    ref = schema.get("$ref")
    resolved: Mapping[str, Any] = schema
    if isinstance(ref, str):
        resolved = schemas.registry().resolver(base_uri=OPERATIONS_URI).lookup(ref).contents
    type_ref = _parameter_type(types, schema, resolved, pointer)
    return Parameter(
        wire_name=param["name"],
        py_name=snake_case(param["name"]),
        location=param["in"],
        required=param.get("required", False),
        description=param.get("description", ""),
        type=type_ref,
        minimum=resolved.get("minimum"),
        maximum=resolved.get("maximum"),
        pattern=resolved.get("pattern"),
        enum=tuple(resolved.get("enum", ())),
        enum_descriptions=tuple(
            resolved.get("x-enumDescriptions", {}).get(v, "") for v in resolved.get("enum", ())
        ),
        default=resolved.get("default"),
    )


def _parameter_type(
    types: TypeBuilder, schema: Mapping[str, Any], resolved: Mapping[str, Any], pointer: str
) -> TypeRef:
    if "$ref" in schema:
        return types.type_of(schema, OPERATIONS_FILE, pointer + "/schema", owner="", wire="")
    kind = resolved.get("type")
    if kind == "string":
        return TypeRef("string")
    if kind == "boolean":
        return TypeRef("boolean")
    if kind == "integer" and resolved.get("format") == "int32":
        return TypeRef("int32")
    raise GeneratorError(
        Location(types.schemas.directory / OPERATIONS_FILE, pointer + "/schema"),
        "unsupported parameter schema: expected a string, a boolean, an int32 or a common $ref",
    )

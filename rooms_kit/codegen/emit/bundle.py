"""One self-contained JSON Schema holding every model and enum under ``$defs``.

datamodel-code-generator reads this instead of the folder: class names, inline objects and the
int32/int64 encodings are already decided by the intermediate model, so the tool only has to print
pydantic classes. Property order follows the schema files; ``$defs`` are sorted by class name.
"""

from __future__ import annotations

import json
from typing import Any

from rooms_kit.codegen.model import Api, Field, TypeRef
from rooms_kit.formats import INT32_MAX, INT32_MIN


def bundle(api: Api) -> dict[str, Any]:
    """The JSON Schema document fed to datamodel-code-generator."""
    defs: dict[str, Any] = {}
    for enum in api.enums:
        defs[enum.class_name] = {
            "description": enum.description,
            "type": "string",
            "enum": list(enum.values),
        }
    for model in api.models:
        defs[model.class_name] = {
            "description": model.description,
            "type": "object",
            "properties": {f.wire_name: _property(api, f) for f in model.fields},
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": dict(sorted(defs.items())),
    }


def aliases(api: Api) -> dict[str, str]:
    """Wire name -> Python attribute name, for every field whose names differ."""
    out = {f.wire_name: f.py_name for m in api.models for f in m.fields if f.needs_alias}
    return dict(sorted(out.items()))


def _property(api: Api, field: Field) -> dict[str, Any]:
    if field.const is not None:
        return {
            "description": field.description,
            "type": "string",
            "const": field.const,
            "default": field.const,
        }
    return {"description": field.description, **type_schema(api, field.type)}


def type_schema(api: Api, type_ref: TypeRef) -> dict[str, Any]:
    """A JSON Schema for one ``TypeRef``, referring to other types through ``#/$defs``."""
    if type_ref.kind == "int64":
        return {"type": "string", "pattern": api.int64_pattern}
    if type_ref.kind == "int32":
        return {"type": "integer", "minimum": INT32_MIN, "maximum": INT32_MAX}
    if type_ref.kind in ("model", "enum"):
        return {"$ref": f"#/$defs/{type_ref.target}"}
    if type_ref.kind == "array":
        assert type_ref.item is not None
        return {"type": "array", "items": type_schema(api, type_ref.item)}
    return {"type": type_ref.kind}


def as_openapi_components(api: Api) -> dict[str, Any]:
    """The bundle as an OpenAPI document with only ``components.schemas``.

    datamodel-code-generator prints one class per component and no extra root model this way.
    """
    text = json.dumps(bundle(api)["$defs"]).replace('"#/$defs/', '"#/components/schemas/')
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": api.version},
        "paths": {},
        "components": {"schemas": json.loads(text)},
    }

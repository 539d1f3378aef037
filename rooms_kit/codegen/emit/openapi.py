"""The OpenAPI 3.1 document, built as data from the intermediate model.

Component schemas are the bundled kind schemas (``rooms_kit.codegen.emit.bundle``) with references
pointing into ``#/components/schemas``; every operation lists its own parameters plus references to
the global ones, its success response, the error responses in Google's envelope and, for replies
that carry a room, ``links`` to every operation taking a ``roomId``. Every component schema's
``title`` is its component name, so tools that name classes after titles (openapi-python-client)
agree with the component names and never see two schemas with one title.
"""

from __future__ import annotations

from typing import Any

from rooms_kit.codegen.emit.bundle import as_openapi_components
from rooms_kit.codegen.model import Api, Operation, Parameter
from rooms_kit.formats import INT32_MAX, INT32_MIN

ERROR_STATUSES = {
    "400": "The request broke the contract: a bad parameter or body (reason invalid, required, "
    "parseError or invalidParameter).",
    "401": "No bearer token, or one the server does not accept (reason authError).",
    "403": "The caller may not act on this room (reason forbidden).",
    "404": "No such room or path (reason notFound).",
    "409": "The room is not in a state that allows the operation (reason conflict).",
    "429": "Too many requests; retry later with backoff (reason rateLimitExceeded).",
    "500": "The server failed (reason backendError); retry with backoff.",
}
ERROR_SCHEMA = "ErrorEnvelope"
SECURITY_SCHEME = "bearerAuth"
LINK_SOURCES = ("create", "join")
ROOM_ID = "roomId"


def _error_envelope() -> dict[str, Any]:
    item = {
        "type": "object",
        "description": "One detailed error.",
        "properties": {
            "domain": {"type": "string", "description": "Scope of the reason; usually global."},
            "reason": {"type": "string", "description": "Short code such as notFound."},
            "message": {"type": "string", "description": "Text for a developer."},
            "location": {"type": "string", "description": "Parameter or JSON pointer at fault."},
            "locationType": {"type": "string", "description": "parameter, header or body."},
        },
        "required": ["domain", "reason", "message"],
    }
    return {
        "type": "object",
        "description": "Google's JSON error body: the HTTP status again, a message, and details.",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "integer", "description": "The HTTP status code."},
                    "message": {"type": "string", "description": "What went wrong."},
                    "errors": {"type": "array", "items": item},
                },
                "required": ["code", "message", "errors"],
            }
        },
        "required": ["error"],
    }


def parameter_schema(api: Api, param: Parameter) -> dict[str, Any]:
    """The JSON Schema of a path or query parameter, with its bounds and encodings."""
    kind = param.type.kind
    schema: dict[str, Any]
    if kind == "int64":
        schema = {"type": "string", "format": "int64", "pattern": api.int64_pattern}
    elif kind == "int32":
        schema = {
            "type": "integer",
            "format": "int32",
            "minimum": INT32_MIN if param.minimum is None else param.minimum,
            "maximum": INT32_MAX if param.maximum is None else param.maximum,
        }
    else:
        schema = {"type": kind}
    if param.enum:
        schema["enum"] = list(param.enum)
    if param.default is not None:
        schema["default"] = param.default
    return schema


def _parameter(api: Api, param: Parameter) -> dict[str, Any]:
    return {
        "name": param.wire_name,
        "in": param.location,
        "required": param.required,
        "description": param.description,
        "schema": parameter_schema(api, param),
    }


def _links(api: Api, op: Operation) -> dict[str, Any]:
    if op.name not in LINK_SOURCES:
        return {}
    links = {}
    for target in api.operations:
        if any(p.wire_name == ROOM_ID for p in target.path_parameters):
            links[target.name[:1].upper() + target.name[1:]] = {
                "operationId": target.operation_id,
                "parameters": {ROOM_ID: f"$response.body#/{ROOM_ID}"},
                "description": f"The roomId of the reply, used by {target.operation_id}.",
            }
    return links


def _operation(api: Api, op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.description,
        "tags": ["rooms"],
        "parameters": [_parameter(api, p) for p in op.parameters]
        + [{"$ref": f"#/components/parameters/{p.wire_name}"} for p in api.global_parameters],
    }
    if op.request_model:
        out["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{op.request_model}"}}
            },
        }
    success: dict[str, Any] = {"description": "Success."}
    if op.response_model:
        success["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{op.response_model}"}}
        }
        links = _links(api, op)
        if links:
            success["links"] = links
    else:
        success["description"] = "Success; the reply has no body."
    responses: dict[str, Any] = {str(op.success_status): success}
    for status in ERROR_STATUSES:
        responses[status] = {"$ref": f"#/components/responses/Error{status}"}
    out["responses"] = responses
    out["security"] = [{SECURITY_SCHEME: []}]
    return out


def openapi_document(api: Api) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(api.operations, key=lambda o: (o.path, o.http_method)):
        path = "/" + api.service_path + op.path
        paths.setdefault(path, {})[op.http_method.lower()] = _operation(api, op)
    schemas = as_openapi_components(api)["components"]["schemas"]
    for enum in api.enums:
        schemas[enum.class_name]["x-enumDescriptions"] = dict(
            zip(enum.values, enum.value_descriptions, strict=True)
        )
    schemas[ERROR_SCHEMA] = _error_envelope()
    # Client generators name classes after titles: each title is its (unique) component name.
    schemas = {name: {"title": name, **schema} for name, schema in schemas.items()}
    responses = {
        f"Error{status}": {
            "description": text,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
            },
        }
        for status, text in ERROR_STATUSES.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": api.title,
            "version": api.version,
            "description": "Generated by games-rooms-kit from its schemas; do not edit by hand. "
            "Regenerate with `make generate`.",
        },
        "servers": [{"url": api.root_url.rstrip("/")}],
        "tags": [{"name": "rooms", "description": "Real-time multiplayer rooms."}],
        "security": [{SECURITY_SCHEME: []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "parameters": {p.wire_name: _parameter(api, p) for p in api.global_parameters},
            "responses": responses,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An OAuth 2.0 access token with the scopes "
                    + " and ".join(scope for scope, _ in api.scopes)
                    + ". The token may also travel in the oauth_token query parameter.",
                }
            },
        },
    }

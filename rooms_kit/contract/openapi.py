"""The generated OpenAPI document, read as data: operations, and validators for their messages.

The document is ``rooms_api/openapi.json`` (written by ``rooms-kit generate``). Its schemas are
JSON Schema 2020-12, so plain ``jsonschema`` validates against them through a registry that
holds the whole document; patterns get ECMA-262 semantics (``$`` is the end of the string).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from rooms_kit.contract.failures import CannotRun
from rooms_kit.contract.schema_errors import (
    DETAILED_ITEMS,
    EXAMINED_ERRORS,
    SchemaErrors,
    bounded_errors,
)
from rooms_kit.schemas.loading import token_of
from rooms_kit.schemas.patterns import compile_ecma

DOCUMENT_URI = "urn:games-rooms-kit:openapi"


def openapi_path() -> Path:
    """Where the generated package keeps ``openapi.json``."""
    spec = importlib.util.find_spec("rooms_api")
    if spec is None or not spec.submodule_search_locations:
        raise CannotRun("the generated package rooms_api is not importable (run make generate)")
    return Path(next(iter(spec.submodule_search_locations))) / "openapi.json"


@dataclass(frozen=True)
class Operation:
    operation_id: str  # games.rooms.create
    method: str
    path: str  # /games/v1/rooms/{roomId}/join
    spec: dict[str, Any]

    @property
    def short(self) -> str:
        return self.operation_id.rsplit(".", 1)[-1]

    @property
    def statuses(self) -> set[str]:
        return set(self.spec.get("responses", {}))


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if isinstance(instance, str) and not compile_ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = Any


_UNREAD = object()  # a body orjson refuses: only the Python validator reads it


class OpenApi:
    """Operations of the document and validators for response bodies, request bodies, parameters."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        self._cls = _ecma_validator_class()
        self._fast: dict[str, Any] = {}
        self.operations: dict[str, Operation] = {}
        for path, item in document["paths"].items():
            for method, spec in item.items():
                if isinstance(spec, dict) and "operationId" in spec:
                    op = Operation(spec["operationId"], method.upper(), path, spec)
                    self.operations[op.operation_id] = op

    @classmethod
    def load(cls, path: Path | None = None) -> OpenApi:
        source = path or openapi_path()
        try:
            return cls(json.loads(source.read_text(encoding="utf-8")))
        except OSError as exc:
            raise CannotRun(f"cannot read {source}: {exc.strerror}") from None

    def operation(self, operation_id: str) -> Operation:
        return self.operations[operation_id]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref``s inside the document until a schema without one."""
        while "$ref" in schema:
            pointer = schema["$ref"].removeprefix("#")
            node: Any = self.document
            for part in pointer.strip("/").split("/"):
                node = node[token_of(part)]
            schema = node
        return schema

    def response_schema(self, operation_id: str, status: int) -> dict[str, Any] | None:
        responses = self.operation(operation_id).spec.get("responses", {})
        response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        if response is None:
            return None
        response = self.resolve(response)
        content = response.get("content", {}).get("application/json")
        return None if content is None else dict(content["schema"])

    def success_kind(self, operation_id: str) -> str | None:
        """The ``kind`` constant of the operation's 200 body (None when it answers without one)."""
        schema = self.response_schema(operation_id, 200)
        if schema is None:
            return None
        kind = self.resolve(schema).get("properties", {}).get("kind", {})
        return str(kind["const"]) if "const" in kind else None

    def request_schema(self, operation_id: str) -> dict[str, Any] | None:
        body = self.operation(operation_id).spec.get("requestBody")
        if body is None:
            return None
        return dict(body["content"]["application/json"]["schema"])

    def parameters(self, operation_id: str) -> dict[str, dict[str, Any]]:
        """Query and path parameters by name, references resolved."""
        found: dict[str, dict[str, Any]] = {}
        for parameter in self.operation(operation_id).spec.get("parameters", []):
            resolved = self.resolve(parameter)
            found[resolved["name"]] = resolved
        return found

    def validator(self, schema: dict[str, Any]) -> _Validator:
        wrapped = _rebase(schema)
        return self._cls(wrapped, registry=self._registry)

    def passes_quickly(self, schema: dict[str, Any], body: bytes) -> bool:
        """Whether ``body`` certainly matches ``schema``, found out by jsonschema-rs in a few
        milliseconds where ``validator`` (pure Python, and the one whose messages the reports
        quote) takes seconds for a list of thousands of rooms. Only a pass is trusted, and only
        for a body orjson parses: orjson refuses much of what the Rust engine could judge
        differently (NaN, lone surrogates, deep nesting), and every refusal, doubt or failure is
        left to ``validator``. It reads an integer beyond 64 bits as a float, which the schemas'
        integer fields (int32, bounded) refuse as they refuse the integer."""
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        return self._passes(schema, value)

    def errors(
        self,
        schema: dict[str, Any],
        document: Any,
        body: bytes,
        *,
        detailed: int = DETAILED_ITEMS,
        examined: int = EXAMINED_ERRORS,
        read_quickly: bool = False,
    ) -> SchemaErrors:
        """The violations of ``document`` (``body`` as Python's json reads it) of ``schema``,
        worded by ``validator``, in a time bounded by ``detailed`` items of each long array
        rather than by the body's size (see ``schema_errors``). ``read_quickly``: ``document``
        is orjson's reading of ``body`` (``bounded.read_json``), so it is not parsed again."""
        trusted = read_quickly
        value = document
        if not read_quickly:
            try:
                value = orjson.loads(body)
            except orjson.JSONDecodeError:
                value = _UNREAD
        if value is not _UNREAD:
            if self._passes(schema, value):
                return SchemaErrors((), 0)
            # the Rust engine may judge parts of ``document`` when it is the same value
            trusted = trusted or value == document
        return bounded_errors(
            self.validator(schema),
            schema,
            document,
            trusted=trusted,
            quick=self.quick_validator,
            resolve=self.resolve,
            detailed=detailed,
            examined=examined,
        )

    def _passes(self, schema: dict[str, Any], value: Any) -> bool:
        fast = self.quick_validator(schema)
        try:
            return fast is not None and bool(fast.is_valid(value))
        except ValueError:  # nested past the Rust engine's limit
            return False

    def quick_validator(self, schema: dict[str, Any]) -> Any:
        """The jsonschema-rs validator of ``schema`` (compiled once), or None when that engine
        cannot build it."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._fast:
            try:
                self._fast[key] = jsonschema_rs.Draft202012Validator(
                    _rebase(schema), registry=self._fast_registry
                )
            except (ValueError, jsonschema_rs.ReferencingError):  # not for the Rust engine
                self._fast[key] = None
        return self._fast[key]

    @cached_property
    def _fast_registry(self) -> Any:
        return jsonschema_rs.Registry([(DOCUMENT_URI, self.document)])

    @cached_property
    def error_envelope(self) -> dict[str, Any]:
        return {"$ref": "#/components/schemas/ErrorEnvelope"}


def _rebase(node: Any) -> Any:
    """Point the local ``$ref``s of a schema taken out of the document back into the document."""
    if isinstance(node, dict):
        return {
            key: DOCUMENT_URI + value
            if key == "$ref" and isinstance(value, str) and value.startswith("#")
            else _rebase(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node


def _ecma_validator_class() -> Any:
    from jsonschema.validators import extend  # noqa: PLC0415

    return extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]

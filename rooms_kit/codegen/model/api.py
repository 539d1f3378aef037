"""HTTP operations and their parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rooms_kit.codegen.model.types import EnumDef, Model, TypeRef


@dataclass(frozen=True)
class Parameter:
    """A path or query parameter of an operation (or of every operation, for global ones)."""

    wire_name: str
    py_name: str
    location: Literal["path", "query"]
    required: bool
    description: str
    type: TypeRef
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    enum_descriptions: tuple[str, ...] = ()
    default: Any = None


@dataclass(frozen=True)
class Operation:
    """One HTTP operation of the rooms resource."""

    name: str  # wire method name: "reportStatus"
    py_name: str  # Python method name: "report_status"
    operation_id: str  # "games.rooms.reportStatus"
    http_method: str  # "POST"
    path: str  # below the service path: "rooms/{roomId}/reportstatus"
    description: str
    parameters: tuple[Parameter, ...]  # path parameters first, then query parameters, in file order
    request_model: str | None  # class name of the body model
    response_model: str | None  # class name of the reply model
    success_status: int

    @property
    def path_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "path")

    @property
    def query_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "query")


@dataclass(frozen=True)
class Api:
    """Everything the emitters need: the API's identity, its operations and its types."""

    name: str
    version: str
    title: str
    root_url: str
    service_path: str
    scopes: tuple[tuple[str, str], ...]  # (scope URL, description), sorted
    global_parameters: tuple[Parameter, ...]
    operations: tuple[Operation, ...]  # sorted by name
    models: tuple[Model, ...]  # sorted by class name
    enums: tuple[EnumDef, ...]  # sorted by class name
    int64_pattern: str

    def model(self, class_name: str) -> Model:
        for model in self.models:
            if model.class_name == class_name:
                return model
        raise KeyError(class_name)

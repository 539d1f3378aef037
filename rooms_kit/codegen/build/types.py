"""Translates property schemas into ``TypeRef`` values and collects the models and enums."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rooms_kit.codegen.load import GeneratorError
from rooms_kit.codegen.model import EnumDef, Field, Model, TypeRef, class_name_of_kind, pascal_case
from rooms_kit.codegen.model.naming import snake_case
from rooms_kit.errors import Location
from rooms_kit.schemas import SchemaSet

COMMON_FILE = "common.schema.json"
COMMON_PREFIX = COMMON_FILE + "#/$defs/"
NUMBER_DEFS = {"int64": TypeRef("int64"), "int32": TypeRef("int32")}
ENUM_SUFFIX_ON_CLASH = "Enum"


class TypeBuilder:
    """Walks the kind schemas once and decides a class name for every object and enumeration."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.schemas = schemas
        self.common: Mapping[str, Any] = schemas.documents[COMMON_FILE]["$defs"]
        self.file_to_class = {
            entry.file.name: class_name_of_kind(kind) for kind, entry in schemas.kinds.items()
        }
        model_names = set(self.file_to_class.values())
        self.enum_class: dict[str, str] = {}
        for name, node in sorted(self.common.items()):
            if "enum" in node:
                candidate = pascal_case(name)
                if candidate in model_names:
                    candidate += ENUM_SUFFIX_ON_CLASH
                self.enum_class[name] = candidate
        self.models: dict[str, Model] = {}

    def enums(self) -> tuple[EnumDef, ...]:
        out = []
        for wire, class_name in self.enum_class.items():
            node = self.common[wire]
            values = tuple(node["enum"])
            notes = node.get("x-enumDescriptions", {})
            out.append(
                EnumDef(
                    wire,
                    class_name,
                    node.get("description", ""),
                    values,
                    tuple(notes.get(v, "") for v in values),
                )
            )
        return tuple(sorted(out, key=lambda e: e.class_name))

    def build_models(self) -> tuple[Model, ...]:
        for _kind, entry in sorted(self.schemas.kinds.items()):
            self._object(
                self.file_to_class[entry.file.name], entry.kind, entry.schema, entry.file.name, ""
            )
        return tuple(sorted(self.models.values(), key=lambda m: m.class_name))

    def _object(
        self, class_name: str, kind: str | None, schema: Mapping[str, Any], file: str, at: str
    ) -> None:
        if class_name in self.models:
            raise GeneratorError(
                Location(self.schemas.directory / file, at),
                f"class name {class_name} is used twice",
            )
        fields = []
        for wire, prop in schema.get("properties", {}).items():
            pointer = f"{at}/properties/{wire}"
            const = prop.get("const") if wire == "kind" else None
            type_ref = self.type_of(prop, file, pointer, owner=class_name, wire=wire)
            fields.append(
                Field(wire, snake_case(wire), prop.get("description", ""), type_ref, const)
            )
        self.models[class_name] = Model(
            class_name,
            kind,
            schema.get("title", class_name),
            schema.get("description", ""),
            tuple(fields),
            file,
            at,
        )

    def type_of(
        self, prop: Mapping[str, Any], file: str, pointer: str, *, owner: str, wire: str
    ) -> TypeRef:
        """The ``TypeRef`` of one property schema; inline objects become models of their own."""
        ref = prop.get("$ref")
        if isinstance(ref, str):
            return self._ref(ref, file, pointer)
        kind = prop.get("type")
        if kind == "string":
            return TypeRef("string")
        if kind == "boolean":
            return TypeRef("boolean")
        if kind == "array" and isinstance(prop.get("items"), dict):
            item = self.type_of(prop["items"], file, pointer + "/items", owner=owner, wire=wire)
            return TypeRef.array(item)
        if kind == "object" and "properties" in prop:
            class_name = owner + pascal_case(wire)
            self._object(class_name, None, prop, file, pointer)
            return TypeRef("model", class_name)
        raise GeneratorError(
            Location(self.schemas.directory / file, pointer),
            "unsupported property schema: expected a $ref, a string, a boolean, an array with "
            "items or an object with properties",
        )

    def _ref(self, ref: str, file: str, pointer: str) -> TypeRef:
        if ref.startswith(COMMON_PREFIX):
            name = ref.removeprefix(COMMON_PREFIX)
            if name in NUMBER_DEFS:
                return NUMBER_DEFS[name]
            if name in self.enum_class:
                return TypeRef("enum", self.enum_class[name])
        elif ref in self.file_to_class:
            return TypeRef("model", self.file_to_class[ref])
        raise GeneratorError(
            Location(self.schemas.directory / file, pointer + "/$ref"),
            f"unsupported $ref {ref!r}: expected a kind schema file or {COMMON_PREFIX}<name>",
        )

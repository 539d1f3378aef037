"""Object models, their fields and the types of those fields, as structured values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TypeKind = Literal["string", "boolean", "int32", "int64", "enum", "model", "array"]


@dataclass(frozen=True)
class TypeRef:
    """The type of a field or parameter.

    ``kind`` says what it is; ``target`` names the model or enum class for ``model`` and ``enum``;
    ``item`` is the element type of an ``array``.
    """

    kind: TypeKind
    target: str | None = None
    item: TypeRef | None = None

    @staticmethod
    def array(item: TypeRef) -> TypeRef:
        return TypeRef("array", item=item)


@dataclass(frozen=True)
class EnumDef:
    """A closed set of string values shared by several fields."""

    wire_name: str  # key in common.schema.json#/$defs
    class_name: str
    description: str
    values: tuple[str, ...]
    value_descriptions: tuple[str, ...]  # same order as ``values``


@dataclass(frozen=True)
class Field:
    """One property of an object model."""

    wire_name: str
    py_name: str
    description: str
    type: TypeRef
    const: str | None = None  # the ``kind`` marker

    @property
    def needs_alias(self) -> bool:
        return self.wire_name != self.py_name


@dataclass(frozen=True)
class Model:
    """One object type: a ``games#`` kind, or an object nested inline in one (``Player.name``)."""

    class_name: str
    kind: str | None  # "games#room"; None for inline objects
    title: str
    description: str
    fields: tuple[Field, ...]
    source_file: str  # schema file the model comes from
    pointer: str  # JSON pointer of the object schema inside that file

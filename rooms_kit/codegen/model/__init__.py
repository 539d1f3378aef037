"""The intermediate model: what the generator knows about the API, with every name decided.

Nothing here reads files or renders text. ``build`` fills these types from the schemas; ``emit``
turns them into files.
"""

from rooms_kit.codegen.model.api import Api, Operation, Parameter
from rooms_kit.codegen.model.naming import class_name_of_kind, pascal_case, snake_case
from rooms_kit.codegen.model.types import EnumDef, Field, Model, TypeRef

__all__ = [
    "Api",
    "EnumDef",
    "Field",
    "Model",
    "Operation",
    "Parameter",
    "TypeRef",
    "class_name_of_kind",
    "pascal_case",
    "snake_case",
]

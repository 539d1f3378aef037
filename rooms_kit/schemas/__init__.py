"""The source of truth: loading, checking and resolving the JSON Schemas in ``schemas/``."""

from rooms_kit.schemas.loading import BASE_URI, KindSchema, SchemaSet, load_schemas
from rooms_kit.schemas.location import schemas_dir
from rooms_kit.schemas.reference_validator import reference_validator

__all__ = [
    "BASE_URI",
    "KindSchema",
    "SchemaSet",
    "load_schemas",
    "reference_validator",
    "schemas_dir",
]

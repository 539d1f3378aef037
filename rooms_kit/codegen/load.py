"""The generator's only door to the schemas: ``rooms_kit.schemas`` reads and checks them.

Broken schemas surface as ``rooms_kit.errors.SchemaError`` naming the file and JSON pointer; the
generator adds its own ``GeneratorError`` (same shape) for schemas that are valid JSON Schema but use
a construct the generator does not know how to translate.
"""

from __future__ import annotations

from pathlib import Path

from rooms_kit.errors import Location, SchemaError
from rooms_kit.schemas import SchemaSet, load_schemas


class GeneratorError(SchemaError):
    """A schema is valid JSON Schema but outside what the generator can translate."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(location, message)


def load(directory: Path | None = None) -> SchemaSet:
    """Load and check every schema in ``directory`` (the project's ``schemas/`` by default)."""
    return load_schemas(directory)

"""The precise (reference) validator: ``jsonschema`` with ECMA-262 ``pattern`` semantics.

It is the judge of validity and the source of every error message; faster engines elsewhere in the
kit may only accept what this one accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

from rooms_kit.schemas.loading import SchemaSet
from rooms_kit.schemas.patterns import compile_ecma


def _ecma_pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not compile_ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


RoomsValidator = extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]


def reference_validator(schemas: SchemaSet, kind: str, *, strict: bool = False) -> Validator:
    """A ``jsonschema`` validator for one kind (``room`` or ``games#room``)."""
    entry = schemas.kind(kind)
    registry = schemas.registry(strict=strict)
    schema = registry.contents(entry.uri)
    return RoomsValidator(schema, registry=registry)  # type: ignore[no-any-return]

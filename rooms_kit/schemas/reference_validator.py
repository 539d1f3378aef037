"""The precise (reference) validator: ``jsonschema`` with ECMA-262 ``pattern`` semantics.

It is the judge of validity; faster engines elsewhere in the kit must give its verdicts and its
errors (the tests hold them to it).

``jsonschema`` picks a validator class from a schema's ``$schema`` each time it follows a ``$ref``
into another resource, which would silently swap this class for the stock Draft 2020-12 one (and
Python's ``$``) inside every referenced file: ``"0\n"`` would then pass the int64 pattern at
``/bytesSent/count`` while failing it at ``/count``. The registry built here therefore holds the
schemas without ``$schema`` (every file declares Draft 2020-12, which the resources carry as their
specification instead), so the class chosen at the top stays in charge all the way down.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from referencing import Registry
from referencing.jsonschema import DRAFT202012

from rooms_kit.schemas.loading import SchemaSet
from rooms_kit.schemas.patterns import compile_ecma
from rooms_kit.schemas.strictness import close_objects

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator


def _ecma_pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    from jsonschema import ValidationError  # noqa: PLC0415

    if isinstance(instance, str) and not compile_ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def rooms_validator_class() -> Any:
    """Draft 2020-12 with the ECMA ``pattern``; ``jsonschema`` is imported on first use only, so
    that a run which never needs the reference validator does not pay for importing it."""
    from jsonschema import Draft202012Validator  # noqa: PLC0415
    from jsonschema.validators import extend  # noqa: PLC0415

    return extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]


def reference_validator(schemas: SchemaSet, kind: str, *, strict: bool = False) -> Validator:
    """A ``jsonschema`` validator for one kind (``room`` or ``games#room``)."""
    entry = schemas.kind(kind)
    registry = _registry(schemas, strict=strict)
    schema = registry.contents(entry.uri)
    return rooms_validator_class()(schema, registry=registry)  # type: ignore[no-any-return]


def _registry(schemas: SchemaSet, *, strict: bool) -> Registry[Any]:
    """Every schema of the set, without ``$schema``, as Draft 2020-12 resources."""
    resources = []
    for schema in schemas.documents.values():
        contents = {key: value for key, value in schema.items() if key != "$schema"}
        if strict:
            contents = close_objects(contents)
        resources.append((schema["$id"], DRAFT202012.create_resource(contents)))
    return Registry().with_resources(resources)

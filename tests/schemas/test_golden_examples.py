"""Every golden example validates, or fails exactly as recorded in ``invalid/expected.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rooms_kit.schemas import SchemaSet, reference_validator
from tests.support.schema_helpers import EXAMPLES, expectations, load_example

VALID = sorted((EXAMPLES / "valid").glob("*.json"))
EXPECTED = expectations()


def _errors(schemas: SchemaSet, kind: str, document: Any, *, strict: bool) -> list[tuple[str, str]]:
    validator = reference_validator(schemas, kind, strict=strict)
    return [
        ("".join(f"/{p}" for p in error.absolute_path), str(error.validator))
        for error in validator.iter_errors(document)
    ]


def _all_properties_filled(schemas: SchemaSet, uri: str, document: Any, at: str) -> list[str]:
    from tests.support.schema_helpers import resolve  # noqa: PLC0415

    uri, node = resolve(schemas, uri, {"$ref": uri})
    return _filled(schemas, uri, node, document, at)


def _filled(
    schemas: SchemaSet, uri: str, node: dict[str, Any], document: Any, at: str
) -> list[str]:
    from tests.support.schema_helpers import resolve  # noqa: PLC0415

    uri, node = resolve(schemas, uri, node)
    missing: list[str] = []
    if node.get("type") == "object":
        for name, prop in node["properties"].items():
            if name not in document:
                missing.append(f"{at}/{name}")
            else:
                missing += _filled(schemas, uri, prop, document[name], f"{at}/{name}")
    elif node.get("type") == "array":
        if not document:
            missing.append(f"{at}: empty array")
        for index, item in enumerate(document):
            missing += _filled(schemas, uri, node["items"], item, f"{at}/{index}")
    return missing


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_example_passes_in_both_modes_and_fills_every_property(
    schemas: SchemaSet, path: Path
) -> None:
    document = load_example(f"valid/{path.name}")
    kind = document["kind"]
    assert _errors(schemas, kind, document, strict=False) == []
    assert _errors(schemas, kind, document, strict=True) == []
    assert _all_properties_filled(schemas, schemas.kind(kind).uri, document, "") == []


def test_every_kind_has_a_valid_example_and_three_invalid_ones(schemas: SchemaSet) -> None:
    valid_kinds = sorted(load_example(f"valid/{p.name}")["kind"] for p in VALID)
    assert valid_kinds == schemas.kind_names()
    for kind in schemas.kind_names():
        assert sum(1 for e in EXPECTED.values() if e["kind"] == kind) >= 3, kind
    on_disk = sorted(
        str(p.relative_to(EXAMPLES / "invalid")) for p in (EXAMPLES / "invalid").glob("*/*.json")
    )
    assert on_disk == sorted(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_invalid_example_fails_exactly_as_recorded(schemas: SchemaSet, relative: str) -> None:
    expected = EXPECTED[relative]
    document = load_example(f"invalid/{relative}")
    error = (expected["error"]["pointer"], expected["error"]["keyword"])
    assert _errors(schemas, expected["kind"], document, strict=expected["strict"]) == [error]
    if expected["strict"]:
        # Strict-only examples document the tolerant default: unknown fields pass there.
        assert _errors(schemas, expected["kind"], document, strict=False) == []

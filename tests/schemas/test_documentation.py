"""A reader can understand every field without the source document."""

from __future__ import annotations

from typing import Any

import pytest

from rooms_kit.schemas import SchemaSet, schemas_dir
from tests.support.shared_docs import SOURCE_DOCUMENT


def _properties(node: Any, at: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            found.append((f"{at}/{name}", prop))
            found += _properties(prop, f"{at}/{name}")
    return found


def test_every_property_has_a_one_line_description(schemas: SchemaSet) -> None:
    for entry in schemas.kinds.values():
        assert entry.schema.get("title") and entry.schema.get("description")
        for at, prop in _properties(entry.schema):
            text = prop.get("description", "")
            assert text and "\n" not in text and len(text) <= 160, f"{entry.file.name}{at}"


def test_every_enum_value_is_explained(schemas: SchemaSet) -> None:
    defs = schemas.documents["common.schema.json"]["$defs"]
    enums = {name: d for name, d in defs.items() if "enum" in d}
    assert len(enums) == 6
    for name, definition in enums.items():
        assert list(definition["x-enumDescriptions"]) == definition["enum"], name
        assert all(definition["x-enumDescriptions"].values()), name


def test_descriptions_are_not_copied_from_the_source_document(schemas: SchemaSet) -> None:
    if not SOURCE_DOCUMENT.is_file():
        pytest.skip(f"{SOURCE_DOCUMENT} is absent")
    source = SOURCE_DOCUMENT.read_text(encoding="utf-8")
    texts = [
        prop["description"] for e in schemas.kinds.values() for _, prop in _properties(e.schema)
    ]
    texts += [
        t
        for d in schemas.documents["common.schema.json"]["$defs"].values()
        for t in d.get("x-enumDescriptions", {}).values()
    ]
    copied = [t for t in texts if len(t) > 30 and t.rstrip(".") in source]
    assert copied == []


def test_schema_files_are_named_after_their_kind(schemas: SchemaSet) -> None:
    for entry in schemas.kinds.values():
        words = "".join("-" + c.lower() if c.isupper() else c for c in entry.name).replace(
            "p2-p", "p2p"
        )
        assert entry.file.name == f"{words}.schema.json"
    assert (schemas_dir() / "common.schema.json").is_file()

"""Small helpers shared by the schema tests: walking a kind's schema through its ``$ref``s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from rooms_kit.schemas import SchemaSet

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"


def resolve(schemas: SchemaSet, base_uri: str, node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Follow ``$ref`` (if any) and return the base URI and contents of the target."""
    if "$ref" not in node:
        return base_uri, node
    ref = node["$ref"]
    contents: dict[str, Any] = schemas.registry().resolver(base_uri=base_uri).lookup(ref).contents
    return urljoin(base_uri, ref.partition("#")[0]), contents


def load_example(relative: str) -> Any:
    return json.loads((EXAMPLES / relative).read_text(encoding="utf-8"))


def expectations() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((EXAMPLES / "invalid" / "expected.json").read_text())
    return result

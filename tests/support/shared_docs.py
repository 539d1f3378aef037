"""Readers for the documents in ``../shared/`` (the source document and the API facts).

The documents are not copied into the project; tests that need them skip with a reason when the
folder is absent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SOURCE_DOCUMENT = SHARED / "seeds" / "000_098ddbdb605b2966.txt"
API_FACTS = SHARED / "api-facts.md"


def require(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is not present in this checkout's surroundings")
    return path


# Tokens of the object templates: keys, placeholder values, kinds, literals, punctuation, comments.
_TOKEN = re.compile(
    r'"[A-Za-z_][A-Za-z0-9_]*":\s|"A String"|"games#[A-Za-z0-9]+"|True or False|\b42\b|[{}\[\],]|#'
)
_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)":\s')


def _template_text(line: str) -> str:
    """Drop the ``# …`` comments of one line and return what is left as JSON text."""
    kept: list[str] = []
    in_comment = False
    for match in _TOKEN.finditer(line):
        token = match.group(0)
        if token == "#":
            in_comment = True
            continue
        if in_comment and not (_KEY.fullmatch(token) or token in ("{", "}", "]", '"A String"')):
            continue
        in_comment = False
        kept.append(token.rstrip() if _KEY.fullmatch(token) else token)
    text = " ".join(kept).replace("True or False", "true")
    return re.sub(r",\s*([}\]])", r"\1", text)


def object_templates() -> list[Any]:
    """Every top-level object template (request bodies and responses) in the source document."""
    templates: list[Any] = []
    for line in require(SOURCE_DOCUMENT).read_text(encoding="utf-8").splitlines():
        text = _template_text(line)
        depth, start = 0, 0
        for index, char in enumerate(text):
            if char in "{[":
                if depth == 0:
                    start = index
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    templates.append(json.loads(text[start : index + 1]))
    return templates


@dataclass
class Shape:
    """Fields of one object as the document shows them: scalar placeholder or nested shape."""

    kind: str | None
    fields: dict[str, Any] = field(default_factory=dict)


def shape_of(template: dict[str, Any]) -> Shape:
    """Turn a template into a comparable tree: 'string', 'number', 'boolean', Shape, [item]."""
    shape = Shape(template.get("kind"))
    for key, value in template.items():
        shape.fields[key] = _value_shape(value)
    return shape


def _value_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return shape_of(value)
    if isinstance(value, list):
        return [_value_shape(value[0])]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "number"
    return "string"


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"section {heading!r} not found in {API_FACTS}"
    return match.group(1)


def _field_list(bullet: str) -> set[tuple[str, str]]:
    """Expand `kind.a`, `.b` lists into (kind, field) pairs."""
    pairs: set[tuple[str, str]] = set()
    current = ""
    for token in re.findall(r"`([A-Za-z0-9_.]+)`", bullet):
        owner, _, name = token.rpartition(".")
        current = owner or current
        pairs.add((current, name))
    return pairs


def int_fields() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The int64 and int32 fields listed in the API facts, as (kind, field) pairs."""
    wire = _section(require(API_FACTS).read_text(encoding="utf-8"), "Wire types")
    int64 = re.search(r"The 13 int64 fields:(.*?)\n- ", wire, re.S)
    int32 = re.search(r"The 21 int32 fields:(.*?)\n- ", wire, re.S)
    assert int64 and int32
    return _field_list(int64.group(1)), _field_list(int32.group(1))


def enumerations() -> list[list[str]]:
    """The value sets of the 'Enumerations' section, in the order they are listed."""
    text = _section(
        require(API_FACTS).read_text(encoding="utf-8"), "Enumerations (value sets, exactly)"
    )
    sets: list[list[str]] = []
    for bullet in re.split(r"^- ", text, flags=re.M)[1:]:
        body = bullet.split("Note:")[0].split(":", 1)[1]
        sets.append(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{4,}\b", body))
    return sets

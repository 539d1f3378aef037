"""The pydantic models, printed by datamodel-code-generator from the bundled schema.

The bundle (``rooms_kit.codegen.emit.bundle``) already carries every decision: class names, which
enum is which class, how int32/int64 travel. ``models_components`` adds what only the Python models
need: one ``Int64`` alias that every int64 field refers to, enum docstrings listing what each value
means (``x-enumDescriptions``), and ``RequestModel`` (``rooms_api._request_model``) as the base of the
models that only travel in request bodies. The tool is run as a subprocess of the current
interpreter, with a fixed set of options, in a temporary folder, so its output depends only on
that input.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from rooms_kit.codegen.emit.bundle import aliases, as_openapi_components
from rooms_kit.codegen.emit.python_view import PACKAGE
from rooms_kit.codegen.model import Api, TypeRef
from rooms_kit.errors import KitError

INT64_ALIAS = "Int64"
INT64_DESCRIPTION = (
    "A signed 64-bit integer, carried as a string of decimal digits (JSON numbers lose precision "
    "beyond 2**53)."
)
REQUEST_BASE = f"{PACKAGE}._request_model.RequestModel"
DOC_WIDTH = 92

OPTIONS = (
    "--input-file-type", "openapi",
    "--output-model-type", "pydantic_v2.BaseModel",
    "--target-python-version", "3.11",
    "--target-pydantic-version", "2.11",
    "--use-annotated",
    "--field-constraints",
    "--use-standard-collections",
    "--use-union-operator",
    "--extra-fields", "allow",
    "--allow-population-by-field-name",
    "--use-double-quotes",
    "--disable-timestamp",
    "--use-subclass-enum",
    "--use-field-description",
    "--use-single-line-docstring",
    "--use-schema-description",
    "--use-type-alias",
    "--formatters", "builtin",
)  # fmt: skip


class ModelGenerationError(KitError):
    """datamodel-code-generator failed on the bundled schema."""


def render_models(api: Api, header: str) -> str:
    """Python source of the models module (not yet formatted by the pinned ruff)."""
    with tempfile.TemporaryDirectory(prefix="rooms-models-") as tmp:
        folder = Path(tmp)
        (folder / "components.json").write_text(
            json.dumps(models_components(api), indent=2), encoding="utf-8"
        )
        (folder / "aliases.json").write_text(json.dumps(aliases(api)), encoding="utf-8")
        bases = {name: REQUEST_BASE for name in request_only_models(api)}
        (folder / "bases.json").write_text(json.dumps(bases, sort_keys=True), encoding="utf-8")
        (folder / "header.txt").write_text(header, encoding="utf-8")
        done = subprocess.run(
            [
                sys.executable, "-m", "datamodel_code_generator",
                "--input", str(folder / "components.json"),
                "--output", str(folder / "models.py"),
                "--aliases", str(folder / "aliases.json"),
                "--custom-file-header-path", str(folder / "header.txt"),
                "--base-class-map", str(folder / "bases.json"),
                *OPTIONS,
            ],
            capture_output=True, text=True, check=False, cwd=folder,
        )  # fmt: skip
        if done.returncode != 0:
            raise ModelGenerationError(
                f"datamodel-code-generator failed: {done.stderr.strip()[-2000:]}"
            )
        return (folder / "models.py").read_text(encoding="utf-8")


def models_components(api: Api) -> dict[str, Any]:
    """The bundle as datamodel-code-generator reads it, with the Python-only decisions added."""
    document = as_openapi_components(api)
    schemas: dict[str, Any] = document["components"]["schemas"]
    for name, schema in schemas.items():
        schemas[name] = _refer_to_int64(api, schema)
    schemas[INT64_ALIAS] = {
        "description": INT64_DESCRIPTION,
        "type": "string",
        "pattern": api.int64_pattern,
    }
    for enum in api.enums:
        schemas[enum.class_name]["description"] = enum_docstring(
            enum.description, enum.values, enum.value_descriptions
        )
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def _refer_to_int64(api: Api, node: Any) -> Any:
    if isinstance(node, list):
        return [_refer_to_int64(api, item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "string" and node.get("pattern") == api.int64_pattern:
        rest = {k: v for k, v in node.items() if k not in ("type", "pattern")}
        return {**rest, "$ref": f"#/components/schemas/{INT64_ALIAS}"}
    return {key: _refer_to_int64(api, value) for key, value in node.items()}


def enum_docstring(description: str, values: tuple[str, ...], notes: tuple[str, ...]) -> str:
    """The enum's description, then one paragraph per value saying what it means."""
    lines = textwrap.wrap(description, DOC_WIDTH) or [""]
    for value, note in zip(values, notes, strict=True):
        lines.append("")
        lines += textwrap.wrap(f"``{value}``: {note}", DOC_WIDTH, subsequent_indent="    ")
    return "\n".join(lines)


def _models_in(api: Api, type_ref: TypeRef) -> set[str]:
    if type_ref.kind == "array" and type_ref.item is not None:
        return _models_in(api, type_ref.item)
    if type_ref.kind == "model" and type_ref.target is not None:
        return {type_ref.target}
    return set()


def _reachable(api: Api, roots: set[str]) -> set[str]:
    seen: set[str] = set()
    pending = sorted(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for field in api.model(name).fields:
            pending += sorted(_models_in(api, field.type) - seen)
    return seen


def request_only_models(api: Api) -> list[str]:
    """Models that appear in request bodies and never in a reply: built by callers, not parsed."""
    requests = {op.request_model for op in api.operations if op.request_model}
    replies = {op.response_model for op in api.operations if op.response_model}
    return sorted(_reachable(api, requests) - _reachable(api, replies))

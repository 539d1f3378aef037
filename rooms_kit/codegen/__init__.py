"""The code generator: schemas in, the ``rooms_api`` package out.

Layers, each importing only those before it: ``load`` (read and check the schemas through
``rooms_kit.schemas``) -> ``model`` (frozen dataclasses, every name decided) -> ``build`` (schemas to
model) -> ``emit`` (JSON documents from data, Python from strict Jinja templates, ruff formatting,
writing or checking an output folder). ``output`` decides where ``rooms-kit generate`` may write.
"""

from __future__ import annotations

from pathlib import Path

from rooms_kit.codegen.build import build_api
from rooms_kit.codegen.emit import render_all
from rooms_kit.codegen.load import load
from rooms_kit.codegen.output import CHECKOUT_OUTPUT_DIR

# generated/ of the source checkout (only meaningful when running from one; see ``output``)
OUTPUT_DIR = CHECKOUT_OUTPUT_DIR


def generate(schemas_dir: Path | None = None) -> dict[str, bytes]:
    """Every generated file, rendered in memory from ``schemas_dir``."""
    return render_all(build_api(load(schemas_dir)))


__all__ = ["OUTPUT_DIR", "generate"]

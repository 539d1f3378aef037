"""The code generator: ``schemas/`` in, the ``rooms_api`` package in ``generated/`` out.

Layers, each importing only those before it: ``load`` (read and check the schemas through
``rooms_kit.schemas``) -> ``model`` (frozen dataclasses, every name decided) -> ``build`` (schemas to
model) -> ``emit`` (JSON documents from data, Python from strict Jinja templates, ruff formatting,
writing or checking ``generated/``).
"""

from __future__ import annotations

from pathlib import Path

from generator.build import build_api
from generator.emit import render_all
from generator.load import load

OUTPUT_DIR = Path(__file__).resolve().parent.parent / "generated"


def generate(schemas_dir: Path | None = None) -> dict[str, bytes]:
    """Every generated file, rendered in memory from ``schemas_dir``."""
    return render_all(build_api(load(schemas_dir)))


__all__ = ["OUTPUT_DIR", "generate"]

"""Turns the intermediate model into files: JSON documents from data, Python from templates."""

from rooms_kit.codegen.emit.pipeline import GENERATED_PACKAGE, render_all
from rooms_kit.codegen.emit.writer import Difference, compare, write

__all__ = ["GENERATED_PACKAGE", "Difference", "compare", "render_all", "write"]

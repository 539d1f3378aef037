"""Turns the intermediate model into files: JSON documents from data, Python from templates."""

from generator.emit.pipeline import GENERATED_PACKAGE, render_all
from generator.emit.writer import Difference, compare, write

__all__ = ["GENERATED_PACKAGE", "Difference", "compare", "render_all", "write"]

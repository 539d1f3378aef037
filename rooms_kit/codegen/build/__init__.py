"""Turns a checked ``SchemaSet`` into the intermediate model (``rooms_kit.codegen.model``)."""

from rooms_kit.codegen.build.api import build_api

__all__ = ["build_api"]

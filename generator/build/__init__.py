"""Turns a checked ``SchemaSet`` into the intermediate model (``generator.model``)."""

from generator.build.api import build_api

__all__ = ["build_api"]

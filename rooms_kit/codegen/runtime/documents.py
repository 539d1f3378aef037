"""The API descriptions shipped next to this package, loaded as JSON."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

__all__ = ["discovery_document", "openapi_document"]


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(files(__package__).joinpath(name).read_text("utf-8"))
    return data


def openapi_document() -> dict[str, Any]:
    """``openapi.json``: the OpenAPI 3.1 description of the API."""
    return _load("openapi.json")


def discovery_document() -> dict[str, Any]:
    """``discovery.json``: the description in Google's discovery format.

    ``googleapiclient.discovery.build_from_document(discovery_document(), ...)`` builds Google's
    dynamic client from it without fetching anything.
    """
    return _load("discovery.json")

"""Finds the folder that holds the schemas: the checkout's ``schemas/`` or the copy in the wheel."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_CANDIDATES = (
    _PACKAGE.parent / "schemas",  # a source checkout or an editable install
    _PACKAGE / "_bundled" / "schemas",  # an installed wheel
)


def schemas_dir() -> Path:
    """Return the schemas folder; ``ROOMS_KIT_SCHEMAS`` overrides the search."""
    override = os.environ.get("ROOMS_KIT_SCHEMAS")
    if override:
        return Path(override)
    for candidate in _CANDIDATES:
        if (candidate / "operations.json").is_file():
            return candidate
    return _CANDIDATES[0]

"""Paths of the kit's documents that help texts point to, valid in a checkout and in a wheel.

A checkout has ``docs/`` next to ``rooms_kit/``; the wheel carries the same files as
``rooms_kit/_bundled/docs``. Help texts print the path that exists, so a user of an installed
package can open it.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_CANDIDATES = (_PACKAGE.parent / "docs", _PACKAGE / "_bundled" / "docs")


def doc_path(name: str) -> str:
    """Where document ``name`` (for example ``room-lifecycle.md``) is on this machine."""
    for folder in _CANDIDATES:
        if (folder / name).is_file():
            return str(folder / name)
    return f"docs/{name} in the games-rooms-kit source"

"""Nesting depth: a document nested past ``MAX_DEPTH`` levels is refused with a ``depth`` issue.

The JSON reader stops at 1,024 levels; well below that, Python's recursion limit (about 1,000
frames) and the validators' own limits (255 levels when jsonschema-rs hands a value back to
Python) would turn a deep but well-formed document into a crash. No schema in ``schemas/`` is
deeper than a dozen levels, so 128 leaves room for any unknown members a tolerant reader keeps.

The walk itself (``deeper_than``, without recursion) lives in ``rooms_kit.schemas.nesting``,
which the schema loader uses as well.
"""

from __future__ import annotations

from typing import Any

from rooms_kit.schemas.loading import pointer_of
from rooms_kit.schemas.nesting import deeper_than
from rooms_kit.validation.issues import DEPTH, Issue

__all__ = ["MAX_DEPTH", "deeper_than", "depth_issue"]  # deeper_than: where the stub finds it

MAX_DEPTH = 128  # levels of nesting; the document itself is level 1


def depth_issue(path: tuple[Any, ...] | list[Any]) -> Issue:
    """The issue for a container that starts level ``MAX_DEPTH + 1`` at ``path``."""
    return Issue(
        pointer_of(path),
        DEPTH,
        f"nested deeper than {MAX_DEPTH} levels (this value starts level {len(path) + 1})",
        None,
        f"at most {MAX_DEPTH} levels of nested objects and arrays",
    )

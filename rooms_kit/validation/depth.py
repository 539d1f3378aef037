"""Nesting depth: a document nested past ``MAX_DEPTH`` levels is refused with a ``depth`` issue.

The JSON reader stops at 1,024 levels; well below that, Python's recursion limit (about 1,000
frames) and the validators' own limits (255 levels when jsonschema-rs hands a value back to
Python) would turn a deep but well-formed document into a crash. No schema in ``schemas/`` is
deeper than a dozen levels, so 128 leaves room for any unknown members a tolerant reader keeps.

The walks here use an explicit stack, never recursion.
"""

from __future__ import annotations

from typing import Any

from rooms_kit.schemas.loading import pointer_of
from rooms_kit.validation.issues import DEPTH, Issue

MAX_DEPTH = 128  # levels of nesting; the document itself is level 1


def deeper_than(value: Any, levels: int) -> tuple[Any, ...] | None:
    """Path (relative to ``value``) of the first container that sits below ``levels`` levels.

    ``value`` itself counts as level 1 when it is an object or array; scalars have no level.
    Stops at the first container found too deep, so the cost is bounded by the part walked.
    """
    if levels < 1:
        return () if isinstance(value, dict | list) else None
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) >= levels:
            return path
        if isinstance(node, dict):
            children: Any = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        for key, child in children:
            if isinstance(child, dict | list):
                stack.append((child, (*path, key)))
    return None


def depth_issue(path: tuple[Any, ...] | list[Any]) -> Issue:
    """The issue for a container that starts level ``MAX_DEPTH + 1`` at ``path``."""
    return Issue(
        pointer_of(path),
        DEPTH,
        f"nested deeper than {MAX_DEPTH} levels (this value starts level {len(path) + 1})",
        None,
        f"at most {MAX_DEPTH} levels of nested objects and arrays",
    )

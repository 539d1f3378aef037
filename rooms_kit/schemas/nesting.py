"""How deep a parsed JSON value nests, found without recursion.

Schema files (``loading``), documents (``rooms_kit.validation``) and request bodies (the generated
stub) are all refused past a depth of their own; this walk is what they share. It uses an
explicit stack, so a value nested far past Python's recursion limit cannot crash it, and it stops
at the first container found too deep.
"""

from __future__ import annotations

from typing import Any


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

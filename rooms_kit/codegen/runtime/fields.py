"""Partial responses: the ``fields`` query parameter of Google's JSON APIs.

A selector names the properties to keep, by wire name: ``roomId,status`` keeps two top-level
properties, ``items/roomId`` descends through objects (and through every element of an array),
``items(roomId,status)`` keeps several properties below one, and ``*`` keeps everything at its level.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FieldSelectorError",
    "MAX_FIELDS_DEPTH",
    "MAX_FIELDS_LENGTH",
    "Selector",
    "parse_fields",
    "select_fields",
]

# A selector is a tree: property name -> the selector below it, or None to keep it whole.
Selector = dict[str, "Selector | None"]


class FieldSelectorError(ValueError):
    """The ``fields`` value does not follow the selector grammar, or is too long or too deep."""


MAX_FIELDS_LENGTH = 2048
"""Longest ``fields`` value accepted, in characters (spaces included)."""
MAX_FIELDS_DEPTH = 16
"""Deepest selection accepted: names along one path plus the parentheses around them."""

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_*-")


def _found(text: str, pos: int) -> str:
    return repr(text[pos]) if pos < len(text) else "the end"


def _name(text: str, pos: int) -> int:
    """The offset just past the field name starting at ``pos``."""
    end = pos
    while end < len(text) and text[end] in _NAME_CHARS:
        end += 1
    if end == pos:
        raise FieldSelectorError(
            f"expected a field name at offset {pos}, found {_found(text, pos)}"
        )
    return end


def _merge(tree: Selector, path: list[str], below: Selector | None) -> None:
    """Add ``path`` (with ``below`` under its last name) to ``tree``; a name kept whole stays so."""
    node = tree
    for head in path[:-1]:
        if head in node and node[head] is None:
            return  # already kept whole
        child = node.get(head)
        if child is None:
            child = node[head] = {}
        node = child
    last = path[-1]
    if below is None or (last in node and node[last] is None):
        node[last] = None
        return
    # Merge ``below`` into what is already there, one level at a time (no recursion).
    target = node.get(last)
    if target is None:
        target = node[last] = {}
    pending: list[tuple[Selector, Selector]] = [(target, below)]
    while pending:
        target, source = pending.pop()
        for key, value in source.items():
            if value is None or (key in target and target[key] is None):
                target[key] = None
            else:
                existing = target.get(key)
                if existing is None:
                    existing = target[key] = {}
                pending.append((existing, value))


def parse_fields(text: str) -> Selector:
    """Parse a ``fields`` value; raises ``FieldSelectorError`` when it is malformed, longer than
    ``MAX_FIELDS_LENGTH`` or nested deeper than ``MAX_FIELDS_DEPTH``.

    The parser keeps its own stack instead of recursing, so no input can exhaust Python's.
    """
    if len(text) > MAX_FIELDS_LENGTH:
        raise FieldSelectorError(
            f"the selection is {len(text)} characters long; at most {MAX_FIELDS_LENGTH} are accepted"
        )
    text = text.replace(" ", "")
    root: Selector = {}
    # One frame per open parenthesis: the tree to merge into, the path before the parenthesis
    # and the depth that path reached.
    frames: list[tuple[Selector, list[str], int]] = []
    tree, depth, pos = root, 0, 0
    while True:
        path: list[str] = []
        while True:
            end = _name(text, pos)
            path.append(text[pos:end])
            pos = end
            if depth + len(path) > MAX_FIELDS_DEPTH:
                raise FieldSelectorError(
                    f"the selection is nested deeper than {MAX_FIELDS_DEPTH} levels at offset {pos}"
                )
            if pos < len(text) and text[pos] == "/":
                pos += 1
                continue
            break
        if pos < len(text) and text[pos] == "(":
            frames.append((tree, path, depth))
            tree, depth, pos = {}, depth + len(path), pos + 1
            continue
        _merge(tree, path, None)
        while pos < len(text) and text[pos] == ")":
            if not frames:
                raise FieldSelectorError(f"unexpected ')' at offset {pos}")
            parent, parent_path, depth = frames.pop()
            _merge(parent, parent_path, tree)
            tree = parent
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if frames:
            raise FieldSelectorError(f"expected ')' at offset {pos}, found {_found(text, pos)}")
        if pos < len(text):
            raise FieldSelectorError(f"unexpected {text[pos]!r} at offset {pos}")
        return root


def select_fields(data: Any, selector: Selector) -> Any:
    """Keep only the parts of ``data`` (decoded JSON) that ``selector`` names."""
    if isinstance(data, list):
        return [select_fields(item, selector) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in selector:
            below = selector[key]
        elif "*" in selector:
            below = selector["*"]
        else:
            continue
        out[key] = value if below is None else select_fields(value, below)
    return out

"""ECMA-262 semantics for the ``pattern`` keyword on top of Python's ``re``.

JSON Schema patterns are ECMA-262 regular expressions. Two differences to Python matter for the
patterns in ``schemas/``: Python's ``$`` also matches before a final newline (so ``"12\\n"`` would
pass ``^[0-9]+$``), and Python's ``\\d`` matches every Unicode digit. The schemas avoid ``\\d``;
``ecma_to_python`` rewrites an unescaped ``$`` outside a character class to ``\\Z``.
"""

from __future__ import annotations

import re
from functools import lru_cache


def ecma_to_python(pattern: str) -> str:
    """Rewrite ``pattern`` so that Python's ``re.search`` behaves as ECMA-262 would."""
    out: list[str] = []
    escaped = False
    in_class = False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "]":
            in_class = False
            out.append(char)
        elif char == "$" and not in_class:
            out.append(r"\Z")
        else:
            out.append(char)
    return "".join(out)


@lru_cache(maxsize=256)
def compile_ecma(pattern: str) -> re.Pattern[str]:
    """Compile an ECMA-262 pattern for use with ``search``."""
    return re.compile(ecma_to_python(pattern))

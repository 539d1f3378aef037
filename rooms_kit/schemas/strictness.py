"""The unknown-property policy, as one switch.

The schemas in ``schemas/`` are open: an object may carry properties the schema does not name,
because Google's clients ignored unknown fields and a newer server may add some. Strict mode closes
every object that lists ``properties`` (``additionalProperties: false``), which catches typos
such as ``roomStatusVerison``. The switch is applied to a copy at load time; the files never change.
"""

from __future__ import annotations

from typing import Any


def close_objects(node: Any) -> Any:
    """Return a copy of ``node`` where every object schema with ``properties`` is closed."""
    if isinstance(node, dict):
        closed = {key: close_objects(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [close_objects(value) for value in node]
    return node

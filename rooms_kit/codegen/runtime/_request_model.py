"""The base of request bodies: built in Python, a misspelt field name is an error, not a no-op.

The schemas are open, so a body that arrives over the wire (``model_validate``,
``model_validate_json``) may carry properties they do not list, and the server stub decides about
those (strict or tolerant). A body written in Python code is different: ``RoomCreateRequest(
varient=1)`` is a typo that would silently send a request without ``variant``. Keyword arguments
that are neither a field's Python name nor its wire name raise pydantic's ``ValidationError``
(type ``extra_forbidden``), exactly as ``extra="forbid"`` would report them.

``__pydantic_base_init__`` marks the constructor the way pydantic marks its own (and
``RootModel``'s): validation from data does not go through it, so only keyword construction in
Python is checked.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails

__all__ = ["RequestModel"]


class RequestModel(BaseModel):
    """A request body model (or a model used only inside request bodies)."""

    model_config = ConfigDict(extra="allow", validate_by_name=True)

    def __init__(self, /, **data: Any) -> None:
        unknown = sorted(set(data) - _known_names(type(self)))
        if unknown:
            details: list[InitErrorDetails] = [
                {"type": "extra_forbidden", "loc": (name,), "input": data[name]} for name in unknown
            ]
            raise ValidationError.from_exception_data(type(self).__name__, details)
        super().__init__(**data)

    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


def _known_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        if info.alias is not None:
            names.add(info.alias)
    return names

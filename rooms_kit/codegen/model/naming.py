"""Naming rules: wire names (camelCase, one snake_case outlier) to Python names.

Every Python identifier the generator writes is decided here, so templates never compute a name.
"""

from __future__ import annotations

import keyword

KIND_PREFIX = "games#"


def snake_case(name: str) -> str:
    """``roomStatusVersion`` -> ``room_status_version``; ``error_reason`` stays as it is.

    A word starts at an upper-case letter that follows a lower-case letter, or at the last
    upper-case letter of a run that a lower-case letter follows (``P2PStatus`` -> ``p2p_status``).
    Digits stick to the word before them.
    """
    out: list[str] = []
    for index, char in enumerate(name):
        prev = name[index - 1] if index else ""
        nxt = name[index + 1] if index + 1 < len(name) else ""
        starts_word = char.isupper() and (
            prev.islower()
            or (prev.isupper() and nxt.islower())
            or (prev.isdigit() and nxt.islower())
        )
        if starts_word and out and out[-1] != "_":
            out.append("_")
        out.append(char.lower())
    result = "".join(out)
    return result + "_" if keyword.iskeyword(result) else result


def pascal_case(name: str) -> str:
    """``roomP2PStatus`` -> ``RoomP2PStatus``; ``page_token`` -> ``PageToken``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def class_name_of_kind(kind: str) -> str:
    """``games#roomP2PStatus`` -> ``RoomP2PStatus``."""
    return pascal_case(kind.removeprefix(KIND_PREFIX))

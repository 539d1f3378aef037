"""Locating errors in the elements of a JSON array file: one pass, same lines as a fresh search."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms_kit.validation.locate import ArrayCursor, line_of, pointer_parts

LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def _pointers(value: Any, prefix: str = "") -> list[str]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            escaped = key.replace("~", "~0").replace("/", "~1")
            found += _pointers(child, f"{prefix}/{escaped}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _pointers(child, f"{prefix}/{index}")
    return found


@settings(max_examples=150, deadline=None)
@given(items=st.lists(VALUES, max_size=6), indent=st.sampled_from([None, 1, 3]), order=st.randoms())
def test_the_cursor_finds_what_a_fresh_search_finds(
    items: list[Any], indent: int | None, order: Any
) -> None:
    text = json.dumps(items, indent=indent)
    cursor = ArrayCursor(text)
    asked = [(i, p) for i, item in enumerate(items) for p in _pointers(item)]
    order.shuffle(asked)  # mostly forwards in real runs; backwards must work too
    asked.sort(key=lambda pair: pair[0] if order.random() < 0.7 else -1)
    for index, pointer in asked:
        parts = pointer_parts(pointer)
        assert cursor.line_of(index, parts) == line_of(text, [index, *parts]), (index, pointer)
    assert cursor.line_of(len(items), []) is None
    assert cursor.element(len(items) + 5) is None


def test_an_array_of_many_invalid_documents_is_one_pass(tmp_path: Path) -> None:
    """50,000 invalid elements: each element used to be found by reading the array from its top
    (10,000 took minutes); now the run takes about a second."""
    path = tmp_path / "rooms.json"
    room = {"kind": "games#room", "status": "NOT_A_STATUS"}
    path.write_text(json.dumps([room] * 50_000, indent=1))
    done = subprocess.run(
        [sys.executable, "-m", "rooms_kit", "validate", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stderr
    assert lines[-1].startswith("50000 documents, 50000 invalid")
    assert lines[0] == (
        f'{path}:4: games#room /status: [enum] "NOT_A_STATUS" is not an allowed value; expected '
        "one of ROOM_INVITING, ROOM_AUTO_MATCHING, ROOM_CONNECTING, ROOM_ACTIVE, ROOM_DELETED"
    )
    assert lines[-2].startswith(f"{path}:{2 + 4 * 49_999 + 2}: games#room /status: [enum]")

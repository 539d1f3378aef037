"""The ``fields`` selector (partial responses) used by the stub."""

from __future__ import annotations

from typing import Any

import pytest
from rooms_api.fields import FieldSelectorError, parse_fields, select_fields

ROOM_LIST: dict[str, Any] = {
    "kind": "games#roomList",
    "nextPageToken": "n",
    "items": [
        {"roomId": "a", "status": "ROOM_ACTIVE", "participants": [{"id": "p1", "connected": True}]},
        {"roomId": "b", "participants": [{"id": "p2"}, {"id": "p3", "connected": False}]},
    ],
}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("kind", {"kind": "games#roomList"}),
        ("items/roomId", {"items": [{"roomId": "a"}, {"roomId": "b"}]}),
        (
            "nextPageToken,items(roomId,participants/id)",
            {
                "nextPageToken": "n",
                "items": [
                    {"roomId": "a", "participants": [{"id": "p1"}]},
                    {"roomId": "b", "participants": [{"id": "p2"}, {"id": "p3"}]},
                ],
            },
        ),
        ("items/participants(connected)", {
            "items": [{"participants": [{"connected": True}]},
                      {"participants": [{}, {"connected": False}]}],
        }),
        ("items(*)", {"items": ROOM_LIST["items"]}),
        ("missing", {}),
        ("items/roomId,items", {"items": ROOM_LIST["items"]}),
    ],
)  # fmt: skip
def test_selection(selector: str, expected: Any) -> None:
    assert select_fields(ROOM_LIST, parse_fields(selector)) == expected


@pytest.mark.parametrize("selector", ["", ",", "items(", "items()", "a//b", "a)", "items(roomId"])
def test_malformed_selectors(selector: str) -> None:
    with pytest.raises(FieldSelectorError):
        parse_fields(selector)


@pytest.mark.parametrize(
    "selector",
    ["a(" * 500, "a/" * 4000 + "a", "/".join(["a"] * 17), "a(" * 16 + "b" + ")" * 16, "a" * 2049],
    ids=["open-parentheses", "long-path", "path-of-17", "parentheses-17-deep", "too-long"],
)
def test_hostile_selectors_are_refused_without_recursion(selector: str) -> None:
    with pytest.raises(FieldSelectorError, match=r"nested deeper than 16|characters long"):
        parse_fields(selector)


def test_the_deepest_accepted_selection() -> None:
    tree = parse_fields("a(" * 15 + "b" + ")" * 15)
    for _ in range(15):
        tree = tree["a"]  # type: ignore[assignment]
    assert tree == {"b": None}
    assert parse_fields("/".join(["a"] * 16)) is not None


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("a(b),a(c)", {"a": {"b": None, "c": None}}),
        ("a(b(c)),a(b(d))", {"a": {"b": {"c": None, "d": None}}}),
        ("a,a(b)", {"a": None}),
        ("a(b),a", {"a": None}),
        ("a/b,a(c/d)", {"a": {"b": None, "c": {"d": None}}}),
        ("a(b,c),a/b(x)", {"a": {"b": None, "c": None}}),
        ("a (b, c)", {"a": {"b": None, "c": None}}),
    ],
)
def test_repeated_names_merge(selector: str, expected: Any) -> None:
    assert parse_fields(selector) == expected

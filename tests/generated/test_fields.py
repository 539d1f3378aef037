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

"""Recording lines written by hand, for tests that need a line the proxy would write."""

from __future__ import annotations

from typing import Any

LIST_EXCHANGE: dict[str, Any] = {
    "recording": 1,
    "method": "GET",
    "path": "/games/v1/rooms",
    "operation": "games.rooms.list",
    "status": 200,
    "request": None,
    "response": {"kind": "games#roomList", "items": []},
}
"""A successful list with no room: valid, the smallest exchange with a body to check."""

"""Which operation of the API a request is: method and path matched against openapi.json."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from rooms_kit.contract.openapi import OpenApi

MAX_REMEMBERED = 4096  # distinct (method, path) pairs whose route is remembered


@dataclass(frozen=True)
class Route:
    operation: str  # games.rooms.get
    room_id: str | None  # the decoded {roomId} path segment, when the path has one


class Router:
    """Matches ``METHOD /path`` against the paths of the OpenAPI document."""

    def __init__(self, openapi: OpenApi) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str]] = []
        for op in openapi.operations.values():
            pattern = re.escape(op.path).replace(re.escape("{roomId}"), "(?P<room>[^/]+)")
            self._routes.append((op.method, re.compile(pattern + "/?"), op.operation_id))
        self._known: dict[tuple[str, str], Route | None] = {}

    def match(self, method: str, path: str) -> Route | None:
        """The operation for a raw (still percent-encoded) path, or None outside the API
        (remembered for the paths seen most recently: clients poll the same rooms)."""
        key = (method, path)
        if key in self._known:
            return self._known[key]
        route = self.find(method, path)
        if len(self._known) >= MAX_REMEMBERED:
            self._known.pop(next(iter(self._known)))
        self._known[key] = route
        return route

    def find(self, method: str, path: str) -> Route | None:
        """``match`` without the memory: safe to call while another thread matches."""
        for wanted, pattern, operation in self._routes:
            if wanted != method.upper():
                continue
            found = pattern.fullmatch(path)
            if found is not None:
                room = found.groupdict().get("room")
                return Route(operation, None if room is None else unquote(room))
        return None

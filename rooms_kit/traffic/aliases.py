"""Bearer tokens never leave the proxy: each becomes a stable player alias before anything is
printed, recorded or reported.

The first token seen is ``player-1``, the next new one ``player-2`` and so on, for the whole run
(every rotated file of a recording uses the same names). ``oauth_token`` in a query string gets
the same treatment as the ``Authorization`` header. As a last line of defence ``scrub`` replaces
any known token found anywhere in a text that is about to be written, and ``scrub_line`` inside
the strings of a JSON line (so that a token such as ``recording`` or ``null,"`` cannot break it).
At most ``MAX_ALIASES`` tokens are remembered: every later new one is ``OVERFLOW``, so a client
sending a new token with every request holds neither memory nor the time ``scrub`` takes.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

AUTHORIZATION = "authorization"
QUERY_TOKEN = "oauth_token"
ANONYMOUS = "anonymous"
MAX_TOKEN_CHARS = 8192  # longer credentials are not remembered; they are replaced by a fixed name
OVERSIZED = "oversized-token"
MAX_ALIASES = 10_000  # tokens remembered (at most 80 MiB of them); later new ones share OVERFLOW
OVERFLOW = "player-overflow"


class Aliases:
    """Token to alias, in order of first appearance; safe to share between threads."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        # tokens of four characters or more, each with the form JSON gives it inside a string
        self._written: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def alias(self, token: str) -> str:
        if len(token) > MAX_TOKEN_CHARS:
            return OVERSIZED
        with self._lock:
            name = self._names.get(token)
            if name is None:
                if len(self._names) >= MAX_ALIASES:
                    return OVERFLOW
                name = f"player-{len(self._names) + 1}"
                self._names[token] = name
                if len(token) >= 4:
                    self._written.append((token, orjson.dumps(token).decode()[1:-1]))
            return name

    def known(self) -> dict[str, str]:
        with self._lock:
            return dict(self._names)

    def of_authorization(self, value: str) -> str:
        """The alias behind an ``Authorization`` value (any scheme; the credential is aliased)."""
        scheme, _, credential = value.strip().partition(" ")
        return self.alias(credential.strip() if credential else scheme)

    def headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Headers as they may be written: the credential replaced by ``Bearer <alias>``."""
        return [
            (name, f"Bearer {self.of_authorization(value)}")
            if name.lower() == AUTHORIZATION
            else (name, value)
            for name, value in headers
        ]

    def query(self, query: str) -> str:
        """A query string as it may be written: every ``oauth_token`` value replaced by its alias."""
        if QUERY_TOKEN not in query:
            return query
        pairs = parse_qsl(query, keep_blank_values=True)
        return urlencode(
            [(key, self.alias(value) if key == QUERY_TOKEN else value) for key, value in pairs]
        )

    def caller(self, headers: list[tuple[str, str]], query: str) -> str:
        """Who made a request: the alias of its credential, or ``anonymous``."""
        for name, value in headers:
            if name.lower() == AUTHORIZATION:
                return self.of_authorization(value)
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key == QUERY_TOKEN:
                return self.alias(value)
        return ANONYMOUS

    def scrub(self, text: str) -> str:
        """``text`` with every known token (of four characters or more) replaced by its alias."""
        for token, name in self.known().items():
            if len(token) >= 4 and token in text:
                text = text.replace(token, name)
        return text

    def in_json(self, text: str) -> bool:
        """Whether a known token (of four characters or more) is in ``text``, a JSON text: as it
        is, or as JSON writes it inside a string (a quote or a backslash escaped)."""
        with self._lock:
            written = list(self._written)
        return any(token in text or escaped in text for token, escaped in written)

    def scrub_line(self, line: dict[str, Any]) -> dict[str, Any]:
        """A recording line with every known token replaced inside its values (the keys and
        strings of its bodies included), never in its own keys or its JSON syntax."""
        return {key: self._scrub_value(value) for key, value in line.items()}

    def _scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self._scrub_value(item) for item in value]
        if isinstance(value, dict):
            return {self.scrub(key): self._scrub_value(item) for key, item in value.items()}
        return value

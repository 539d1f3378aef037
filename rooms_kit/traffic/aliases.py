"""Bearer tokens never leave the proxy: each becomes a stable player alias before anything is
printed, recorded or reported.

The first token seen is ``player-1``, the next new one ``player-2`` and so on, for the whole run
(every rotated file of a recording uses the same names). ``oauth_token`` in a query string gets
the same treatment as the ``Authorization`` header. As a last line of defence ``scrub`` replaces
any known token found anywhere in a text that is about to be written.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qsl, urlencode

AUTHORIZATION = "authorization"
QUERY_TOKEN = "oauth_token"
ANONYMOUS = "anonymous"
MAX_TOKEN_CHARS = 8192  # longer credentials are not remembered; they are replaced by a fixed name
OVERSIZED = "oversized-token"


class Aliases:
    """Token to alias, in order of first appearance; safe to share between threads."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def alias(self, token: str) -> str:
        if len(token) > MAX_TOKEN_CHARS:
            return OVERSIZED
        with self._lock:
            name = self._names.get(token)
            if name is None:
                name = f"player-{len(self._names) + 1}"
                self._names[token] = name
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

"""Bearer tokens never leave the proxy: each becomes a stable player alias before anything is
printed, recorded or reported.

The first token seen is ``player-1``, the next new one ``player-2`` and so on, for the whole run
(every rotated file of a recording uses the same names). ``oauth_token`` in a query string gets
the same treatment as the ``Authorization`` header, whatever its key's spelling (``oauth%5Ftoken``
is the same key to a server, and is written ``oauth_token``). As a last line of defence ``scrub``
replaces any known token found anywhere in a text that is about to be written, as it is or
%-escaped (``TokBobSECRE%54222`` in a path or a query), and ``scrub_line`` inside the strings of a
JSON line (so that a token such as ``recording`` or ``null,"`` cannot break it).
At most ``MAX_ALIASES`` tokens are remembered: every later new one is ``OVERFLOW``, so a client
sending a new token with every request holds neither memory nor the time ``scrub`` takes.

``replace_tokens`` also serves ``rooms-kit replay``, which holds the real tokens of the aliases.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus

import orjson

AUTHORIZATION = "authorization"
QUERY_TOKEN = "oauth_token"
ANONYMOUS = "anonymous"
MAX_TOKEN_CHARS = 8192  # longer credentials are not remembered; they are replaced by a fixed name
OVERSIZED = "oversized-token"
MAX_ALIASES = 10_000  # tokens remembered (at most 80 MiB of them); later new ones share OVERFLOW
OVERFLOW = "player-overflow"
MIN_SCRUBBED = 4  # shorter tokens are not searched for in texts (they would be found everywhere)
_ALIAS = re.compile(r"player-(?P<number>[1-9][0-9]*)|player-overflow|oversized-token")


def is_alias(text: str) -> bool:
    """Whether ``text`` is a name the proxy gives a token: ``player-N`` (1 to ``MAX_ALIASES``),
    ``OVERFLOW`` or ``OVERSIZED`` (``anonymous`` is no token's name)."""
    found = _ALIAS.fullmatch(text)
    if found is None:
        return False
    number = found.group("number")
    return number is None or (len(number) <= 6 and int(number) <= MAX_ALIASES)


def is_query_token(key: str) -> bool:
    """Whether a raw query key is ``oauth_token`` once decoded (``oauth%5Ftoken`` is)."""
    return (key == QUERY_TOKEN) or ("%" in key and unquote_plus(key) == QUERY_TOKEN)


def may_hold_query_token(query: str) -> bool:
    """Cheap test first: a query without ``oauth_token`` and without any ``%`` has no such key."""
    return QUERY_TOKEN in query or "%" in query


def _hex(byte: int) -> str:
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{byte:02x}")


@functools.lru_cache(maxsize=256)
def _escaped(token: str) -> re.Pattern[str]:
    """``token`` with any of its characters %-escaped (as UTF-8, in either case of hex)."""
    parts = []
    for char in token:
        encoded = "".join(f"%{_hex(b)}" for b in char.encode("utf-8", "surrogatepass"))
        parts.append(f"(?:{re.escape(char)}|{encoded})")
    return re.compile("".join(parts))


def replace_tokens(text: str, names: list[tuple[str, str]]) -> str:
    """``text`` with each (token, name) token of ``MIN_SCRUBBED`` characters or more replaced by
    its name: as it stands, then %-escaped in any of its characters (only when ``text`` holds a
    ``%``: a URL path or query the proxy shows as it came)."""
    for token, name in names:
        if len(token) >= MIN_SCRUBBED and token in text:
            text = text.replace(token, name)
    if "%" in text:
        decoded = unquote(text)
        for token, name in names:
            if len(token) >= MIN_SCRUBBED and token in decoded:
                text = _escaped(token).sub(name, text)
    return text


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
        """A query string as it may be written: every parameter whose decoded key is
        ``oauth_token`` written ``oauth_token=<alias>`` (the key's spelling normalised, the value
        decoded as a server decodes it); every other parameter stays as it came."""
        if not may_hold_query_token(query):
            return query
        return "&".join(self._parameter(part) for part in query.split("&"))

    def _parameter(self, part: str) -> str:
        key, _, value = part.partition("=")
        if not is_query_token(key):
            return part
        return f"{QUERY_TOKEN}={self.alias(unquote_plus(value))}"

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
        """``text`` with every known token (of four characters or more) replaced by its alias,
        as it stands or %-escaped (``replace_tokens``)."""
        return replace_tokens(text, list(self.known().items()))

    def in_json(self, text: str) -> bool:
        """Whether a known token (of four characters or more) is in ``text``, a JSON text: as it
        is, as JSON writes it inside a string (a quote or a backslash escaped), or %-escaped."""
        with self._lock:
            written = list(self._written)
        if any(token in text or escaped in text for token, escaped in written):
            return True
        if "%" not in text:
            return False
        decoded = unquote(text)
        return any(token in decoded for token, _ in written)

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

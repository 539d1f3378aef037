"""Tokens are secrets: no output of the suite shows one.

``Secrets`` holds the run's tokens in the order they were given (token number 1 is the first
``--token``). A reproduction command names token number N as the shell variable
``ROOMS_KIT_TOKEN_N`` (``-H "Authorization: Bearer $ROOMS_KIT_TOKEN_2"``), so the command still
works once the variable is set; any other text shows it as ``<token N>``. ``scrub`` replaces every
known token of at least ``MIN_SCRUBBED_CHARS`` characters (as sent, percent-encoded, JSON- or
HTML-escaped) wherever it stands: the reports pass all their text through it, so a token a server
echoes back in a body or a header never reaches a report either.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote, quote_plus

VARIABLE = "ROOMS_KIT_TOKEN_{}"
# Shorter tokens are only replaced where the suite itself put them (the Authorization header):
# scrubbing "abc" from every text would mangle the reports without protecting much.
MIN_SCRUBBED_CHARS = 4
_SAFE_IN_DOUBLE_QUOTES = re.compile(r'[^"\\$`!]*')
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")


def variable(number: int) -> str:
    """The shell variable that stands for token ``number`` (1-based) in a reproduction."""
    return VARIABLE.format(number)


# Said once wherever reproduction commands are shown.
NOTE = (
    "tokens: a reproduce command reads token N (the N-th --token) from the shell variable "
    "ROOMS_KIT_TOKEN_N (export ROOMS_KIT_TOKEN_1=... first); other text shows it as <token N>"
)


def placeholder(number: int) -> str:
    """How text other than a shell command shows token ``number``."""
    return f"<token {number}>"


def _forms(token: str) -> set[str]:
    """The ways a token can be written in a report: as sent, in a URL, in JSON, in HTML or XML
    (text or attribute), and JSON-escaped inside HTML or XML."""
    forms = {token, quote(token, safe=""), quote_plus(token, safe="")}
    for plain in (token, json.dumps(token)[1:-1]):
        forms |= {
            plain,
            escape(plain, quote=False),
            escape(plain, quote=True),
            escape(plain, quote=False).replace('"', "&quot;"),
        }
    return forms


@dataclass(frozen=True)
class Secrets:
    """The run's tokens; ``number`` is 1-based, in the order they were given."""

    tokens: tuple[str, ...] = ()
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _numbers: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        numbers: dict[str, int] = {}
        for number, token in enumerate(self.tokens, 1):
            if len(token) < MIN_SCRUBBED_CHARS:
                continue
            for form in _forms(token):
                numbers.setdefault(form, number)
        if numbers:
            ordered = sorted(numbers, key=len, reverse=True)  # a longer token before its prefix
            pattern = re.compile("|".join(re.escape(form) for form in ordered))
            object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "_numbers", numbers)

    @classmethod
    def of(cls, tokens: Iterable[str]) -> Secrets:
        return cls(tuple(tokens))

    def number(self, token: str) -> int | None:
        """The number of a token given exactly (whatever its length), else None."""
        for number, known in enumerate(self.tokens, 1):
            if known == token:
                return number
        return None

    def scrub(self, text: str, shown: Callable[[int], str] = placeholder) -> str:
        """``text`` with every known token (``MIN_SCRUBBED_CHARS`` or longer) as ``shown(N)``."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: shown(self._numbers[match.group(0)]), text)

    def shell_word(self, text: str) -> str:
        """``text`` quoted as one shell word, each known token as its variable (expanded)."""
        if self._pattern is None:
            return shlex.quote(text)
        pieces: list[tuple[str, int | None]] = []
        at = 0
        for match in self._pattern.finditer(text):
            pieces.append((text[at : match.start()], None))
            pieces.append(("", self._numbers[match.group(0)]))
            at = match.end()
        if not pieces:
            return shlex.quote(text)
        pieces.append((text[at:], None))
        return _word(pieces)

    def bearer_word(self, name: str, token: str) -> str | None:
        """The shell word of header ``name: Bearer token`` with a known token, else None."""
        number = self.number(token)
        if number is None:
            return None
        return _word([(f"{name}: Bearer ", None), ("", number)])


def _word(pieces: list[tuple[str, int | None]]) -> str:
    """One shell word of literal pieces and variables (number not None)."""
    literal = "".join(text for text, number in pieces if number is None)
    if _SAFE_IN_DOUBLE_QUOTES.fullmatch(literal):
        out = []
        for index, (text, number) in enumerate(pieces):
            if number is None:
                out.append(text)
                continue
            following = next((t for t, _ in pieces[index + 1 :] if t), "")
            name = variable(number)
            out.append("${" + name + "}" if _NAME_CHAR.match(following[:1]) else "$" + name)
        return '"' + "".join(out) + '"'
    return "".join(
        shlex.quote(text) if number is None else f'"${variable(number)}"'
        for text, number in pieces
        if number is not None or text
    )

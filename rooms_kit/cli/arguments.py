"""Argument types shared by sub-commands: paths checked while parsing, so that a command never
runs for minutes (a contract run, a proxy session, a replay) only to fail when it writes."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from pathlib import Path


def _first_existing(path: Path) -> Path | None:
    return next((p for p in (path, *path.parents) if p.exists()), None)


def folder_to_write(text: str) -> Path:
    """A folder that exists or can be created: neither it nor a parent is a file."""
    path = Path(text)
    existing = _first_existing(path)
    if existing is not None and not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file, not a folder")
    return path


def file_to_write(text: str) -> Path:
    """A file that may be created or replaced: not a folder, and no parent is a file."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder, not a file")
    existing = _first_existing(path.parent)
    if existing is not None and not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file, not a folder")
    return path


def listen_host(text: str) -> str:
    """``--host``: an address to bind. An empty one would make the server listen on every
    interface (``--host "$UNSET_VARIABLE"``), so it must be said out loud: ``0.0.0.0``."""
    if not text or text != text.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an address; an empty --host would listen on every interface "
            "(give 0.0.0.0 or :: if that is what you want)"
        )
    return text


def http_url(text: str) -> str:
    """A URL Python can take apart, with a port (when given) in 0..65535; before, a port such as
    99999 was only found out by every request failing."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    if "@" in text.split("?", 1)[0].split("#", 1)[0]:  # never echoed: it may hold a password
        raise argparse.ArgumentTypeError(
            "a user name or password in the URL is not supported (each request carries its own "
            "credentials); the URL is not shown"
        )
    if "?" in text or "#" in text:  # never echoed either: a query may hold an oauth_token
        raise argparse.ArgumentTypeError(
            "a query or a fragment in the URL is not supported (give the server's base URL); "
            "the URL is not shown, since a query may hold a token"
        )
    try:
        urlsplit(text).port  # noqa: B018 - raises ValueError for a port outside 0..65535
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a usable URL: {exc}") from None
    return text  # the scheme and host are checked by the command itself (check_base_url)


_SIZE = re.compile(r"([0-9]{1,30})([KMG]?)", re.IGNORECASE)
LARGEST_SIZE = 1024**4
"""The bound of a size option that has none of its own (1024G): a size is still a bound."""
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
SIZE_EXAMPLES = "65536, 512K, 100M or 1G"


def size_text(size: int) -> str:
    """``size`` bytes in the largest unit that divides it: 1G, 64M, 512K, or plain bytes."""
    for unit in ("G", "M", "K"):
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def byte_size(most: int | None) -> Callable[[str], int]:
    """The type of every option giving a number of bytes (``--max-bytes``, ``--max-body-bytes``,
    ``--max-response-bytes``, ``--rotate-bytes`` ...): digits with an optional K, M or G (powers
    of 1024, either case), above 0 and at most ``most`` (``LARGEST_SIZE`` when None)."""
    largest = LARGEST_SIZE if most is None else most

    def parse(text: str) -> int:
        found = _SIZE.fullmatch(text.strip())
        if found is None or int(found.group(1)) < 1:
            raise argparse.ArgumentTypeError(f"{text!r} is not a size such as {SIZE_EXAMPLES}")
        value = int(found.group(1)) * _UNITS[found.group(2).upper()]
        if value > largest:
            raise argparse.ArgumentTypeError(
                f"{text} is more than the largest allowed, {size_text(largest)}"
            )
        return value

    return parse


# A bearer token a request can carry: visible ASCII, no spaces, long enough for JWTs.
SENDABLE_TOKEN = re.compile(r"[\x21-\x7e]{1,8192}")


def sendable_token(token: str) -> bool:
    return SENDABLE_TOKEN.fullmatch(token) is not None


def positive_number(kind: type[float] | type[int], most: float) -> Callable[[str], float]:
    """A parser for a number above 0 and at most ``most``; NaN and infinities are refused (the
    comparison below is False for NaN, and an infinity is above any ``most``)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not 0 < value <= most:
            raise argparse.ArgumentTypeError(f"must be above 0 and at most {most:.0f}, got {text}")
        return value

    return parse


_WHOLE = re.compile(r"-?[0-9]{1,100}")


def whole_number(text: str) -> int:
    """An integer of either sign, such as a seed: ASCII digits only (``int`` also takes other
    scripts' digits, ``_`` and spaces), at most 100 of them."""
    if not _WHOLE.fullmatch(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise argparse.ArgumentTypeError(f"{shown!r} is not a whole number")
    return int(text)


def one_of(choices: Sequence[str]) -> Callable[[str], str]:
    """A parser for one of ``choices``, refusing with the words of argparse's own ``choices=``,
    for the places (environment variables, the pytest entry) where ``choices=`` does not apply."""

    def parse(text: str) -> str:
        if text not in choices:
            listed = ", ".join(repr(choice) for choice in choices)
            raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {listed})")
        return text

    return parse


TOO_FEW_TOKENS = "give at least two --token options"
"""The start of the complaint about fewer than two players' tokens (each entry says the rest)."""

"""Bearer tokens to player ids: a token file, tokens kept in the database, or development mode.

- ``--tokens FILE``: a JSON object mapping each token to a player id;
- the database: SHA-256 digests of tokens with their player id (``rooms-kit tokens add``);
- neither: **development mode**, where ``dev-<playerId>`` stands for that player. It is decided
  once, when the resolver is built, and announced by ``rooms-kit serve``.

Tokens are never logged and never stored in clear in the database (docs/room-lifecycle.md,
R-token-1..3).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

from rooms_kit.errors import KitError
from rooms_kit.reference_server.storage import Store

DEV_PREFIX = "dev-"
PLAYER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class TokenFileError(KitError):
    """The ``--tokens`` file is unreadable or is not a JSON object of strings."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_token_file(path: Path) -> dict[str, str]:
    """Read a ``{"token": "playerId", ...}`` file; a ``TokenFileError`` says what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TokenFileError(f"{path}: cannot read the token file: {exc.strerror}") from None
    except (UnicodeError, json.JSONDecodeError) as exc:
        raise TokenFileError(f"{path}: the token file is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise TokenFileError(f"{path}: expected a JSON object mapping token to player id")
    for token, player_id in data.items():
        if not token or not isinstance(player_id, str) or not PLAYER_ID.fullmatch(player_id):
            # Name the player, never the token.
            raise TokenFileError(
                f"{path}: every token needs a player id of 1-64 letters, digits, '.', '_' or "
                f"'-' (offending player id: {player_id!r})"
            )
    return dict(data)


class TokenResolver:
    """Finds the player a bearer token stands for."""

    def __init__(self, store: Store, file_tokens: Mapping[str, str] | None = None) -> None:
        self._store = store
        self._file = {token_digest(t): p for t, p in (file_tokens or {}).items()}
        self.development_mode = not self._file and not store.has_tokens()

    def resolve(self, token: str) -> str | None:
        """The player id, or ``None`` when the token means nobody."""
        if not token:
            return None
        if self.development_mode:
            if token.startswith(DEV_PREFIX) and PLAYER_ID.fullmatch(token[len(DEV_PREFIX) :]):
                return token[len(DEV_PREFIX) :]
            return None
        digest = token_digest(token)
        # Looking digests up (not tokens) keeps timing from telling anything about tokens.
        found = self._file.get(digest)
        return found if found is not None else self._store.player_for_token_digest(digest)

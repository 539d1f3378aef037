"""Bearer tokens to player ids: a token file, tokens kept in the database, or development mode.

- ``--tokens FILE``: a JSON object mapping each token to a player id;
- the database: SHA-256 digests of tokens with their player id (``rooms-kit tokens add``);
- ``--dev-tokens``: **development mode**, where ``dev-<playerId>`` stands for that player.

Authentication fails closed: development tokens exist only when asked for, and a server that
nobody could sign in to refuses to start. The mode is recorded in the database by the first
server that opens it, and every later process must ask for the same mode or refuse to start, so
all processes serving one database agree on who may sign in.

Tokens are never logged and never stored in clear in the database (docs/room-lifecycle.md,
R-token-1..3).
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rooms_kit.errors import KitError
from rooms_kit.reference_server.storage import Store

DEV_PREFIX = "dev-"
PLAYER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


DEVELOPMENT_MODE = "development"
TOKEN_MODE = "tokens"


class TokenFileError(KitError):
    """The ``--tokens`` file is unreadable, empty, or is not a JSON object of strings."""


class AuthModeError(KitError):
    """The requested authentication cannot be used: nobody could sign in, or the database is
    recorded in the other mode."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _what(value: object) -> str:
    """A token-file value described without quoting it: in a file of the wrong shape (nested,
    or tokens and players swapped) a value shown as a player id may be a token."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, dict | list):
        kind = "an object" if isinstance(value, dict) else "an array"
        return f"{kind} of {len(value)} member{'' if len(value) == 1 else 's'}"
    if isinstance(value, bool):
        return "true or false"
    return "null" if value is None else "a number"


MAX_TOKEN_FILE_BYTES = 16 * 1024 * 1024


def token_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a token file before it is even opened (a FIFO would block the start
    for ever, /dev/zero would be read until memory runs out), or None. A missing file is left to
    the reader, which says so."""
    try:
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size > MAX_TOKEN_FILE_BYTES:
        return f"{info.st_size} bytes, more than the {MAX_TOKEN_FILE_BYTES} a token file may hold"
    return None


def _is_text(token: str) -> bool:
    try:
        token.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Pairs(dict[str, Any]):
    """A JSON object that remembers a member given twice with two values (JSON keeps the last,
    so the first player of a token would lose it without a word): their entry numbers."""

    twice: tuple[int, int] | None = None


def _pairs(items: list[tuple[str, Any]]) -> _Pairs:
    """The ``object_pairs_hook`` of a token file (called for every object; only the top one's
    record is looked at). The same token twice for the same player is one token."""
    found = _Pairs()
    entry: dict[str, int] = {}
    for number, (token, player_id) in enumerate(items, 1):
        if token in found and found[token] != player_id and found.twice is None:
            found.twice = (entry[token], number)
        found[token] = player_id
        entry.setdefault(token, number)
    return found


def load_token_file(path: Path) -> dict[str, str]:
    """Read a ``{"token": "playerId", ...}`` file; a ``TokenFileError`` says what is wrong."""
    problem = token_file_problem(path)
    if problem is not None:
        raise TokenFileError(f"{path}: {problem}")
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_TOKEN_FILE_BYTES + 1)  # the file may have grown since
        if len(raw) > MAX_TOKEN_FILE_BYTES:
            raise TokenFileError(
                f"{path}: more than the {MAX_TOKEN_FILE_BYTES} bytes a token file may hold"
            )
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs)
    except OSError as exc:
        raise TokenFileError(f"{path}: cannot read the token file: {exc.strerror}") from None
    except (UnicodeError, json.JSONDecodeError) as exc:
        raise TokenFileError(f"{path}: the token file is not JSON: {exc}") from None
    except ValueError:  # what int() refuses: more digits than Python reads
        raise TokenFileError(
            f"{path}: the token file holds an integer of more than "
            f"{sys.get_int_max_str_digits()} digits; player ids are strings"
        ) from None
    except RecursionError:
        raise TokenFileError(
            f"{path}: expected a JSON object mapping token to player id; this file nests "
            "deeper than the JSON reader goes"
        ) from None
    if not isinstance(data, dict):
        raise TokenFileError(f"{path}: expected a JSON object mapping token to player id")
    if isinstance(data, _Pairs) and data.twice is not None:
        first, second = data.twice
        raise TokenFileError(
            f"{path}: entries {first} and {second} give one token to two players; a token "
            "means one player"
        )
    # Entries are named by their number, never by a value: in a file of the wrong shape any
    # value may be a token.
    for number, (token, player_id) in enumerate(data.items(), 1):
        if not token:
            raise TokenFileError(f"{path}: entry {number}: the token is empty")
        if not _is_text(token):
            raise TokenFileError(
                f"{path}: entry {number}: the token is not text that can be sent (it holds a "
                "lone surrogate escape, such as \\ud800)"
            )
        if not isinstance(player_id, str) or not PLAYER_ID.fullmatch(player_id):
            raise TokenFileError(
                f"{path}: entry {number}: every token needs a player id of 1-64 letters, "
                f"digits, '.', '_' or '-', and this one is {_what(player_id)} that is not; is the "
                'file a {"token": "playerId", ...} object?'
            )
    if not data:
        raise TokenFileError(
            f"{path}: the token file holds no tokens, so nobody could sign in; add "
            '"token": "playerId" pairs, or use --dev-tokens while developing'
        )
    return dict(data)


NO_TOKENS = (
    "no bearer tokens, so nobody could sign in: give a token file (--tokens), store tokens with "
    "'rooms-kit tokens add', or use --dev-tokens while developing"
)


STORED_TOKENS_IN_DEVELOPMENT = (
    "the database holds tokens stored with 'rooms-kit tokens add'; development mode would never "
    "read them and would record the database as a development one for good (anyone could sign "
    "in as anyone): drop --dev-tokens, or serve another database"
)


class TokenResolver:
    """Finds the player a bearer token stands for."""

    def __init__(
        self,
        store: Store,
        file_tokens: Mapping[str, str] | None = None,
        *,
        dev_tokens: bool = False,
    ) -> None:
        self._store = store
        self._file = {token_digest(t): p for t, p in (file_tokens or {}).items()}
        if dev_tokens and file_tokens is not None:
            raise AuthModeError("development tokens and a token file exclude each other")
        if not dev_tokens and not self._file and not store.has_tokens():
            raise AuthModeError(NO_TOKENS)
        # Every refusal comes before the mode is claimed: a refused start records nothing.
        _refuse_split_tokens(store, self._file)
        if dev_tokens and store.auth_mode() is None and store.has_tokens():
            raise AuthModeError(STORED_TOKENS_IN_DEVELOPMENT)
        wanted = DEVELOPMENT_MODE if dev_tokens else TOKEN_MODE
        recorded = store.claim_auth_mode(wanted)
        if recorded != wanted:
            raise AuthModeError(_conflict(recorded))
        self.development_mode = dev_tokens

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


def _refuse_split_tokens(store: Store, file_players: Mapping[str, str]) -> None:
    """Refuse a token file that gives a token to another player than the database does: the
    file is looked at first, so one of the two players would silently lose that token. The
    message names both players and never the token."""
    if not file_players:
        return
    stored = store.stored_players(list(file_players))
    split = sorted(
        (file_players[digest], player)
        for digest, player in stored.items()
        if file_players[digest] != player
    )
    if not split:
        return
    in_file, in_database = split[0]
    others = len(split) - 1
    more = f", and {others} more of the file's tokens are split the same way" if others else ""
    raise AuthModeError(
        f"a token in the token file stands for player {in_file!r}, but the database holds the "
        f"same token for player {in_database!r}{more}; a token means one player: give that "
        "player another token in the file or with 'rooms-kit tokens add'"
    )


def _conflict(recorded: str) -> str:
    if recorded == DEVELOPMENT_MODE:
        return (
            "the database is recorded in development mode (it was first served with "
            "--dev-tokens), so every server on it accepts dev-<playerId> tokens; start this one "
            "with --dev-tokens as well, or serve another database"
        )
    return (
        f"the database is recorded in {recorded!r} mode (it was first served with bearer "
        "tokens), so development tokens cannot be switched on for it; drop --dev-tokens, or "
        "serve another database"
    )

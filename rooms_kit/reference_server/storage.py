"""The storage interface the room service works against; ``sqlite_store`` implements it.

A ``Store`` hands out transactions. Everything a request reads and writes happens inside one of
them: ``write()`` transactions are serialised against each other from their first statement
(so a read-modify-write of a room can never interleave with another), ``read()`` transactions see
one consistent snapshot. Another database can be added by implementing these two protocols; the
behaviour code does not change.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from rooms_kit.reference_server.state import RoomState

ListPosition = tuple[int, str]
"""Where a page of invitations ended: (creation time, room id) of its last room."""


class Transaction(Protocol):
    """Reads and writes inside one transaction."""

    def tick(self, wall_ms: int) -> int:
        """Next value of the server-wide modification clock: ``max(wall_ms, previous + 1)``."""
        ...

    def load_room(self, room_id: str) -> RoomState | None: ...

    def save_room(self, room: RoomState) -> None:
        """Insert or replace the room (and whatever indexes the store keeps about it)."""
        ...

    def find_request(self, application_id: str, player_id: str, request_id: int) -> str | None:
        """Room id an earlier create with this caller and ``requestId`` produced, if any."""
        ...

    def remember_request(
        self, application_id: str, player_id: str, request_id: int, room_id: str
    ) -> None: ...

    def match_candidates(self, application_id: str, variant: int | None) -> Iterator[RoomState]:
        """Rooms of this application and variant with a free auto-match slot, oldest first."""
        ...

    def invitations(
        self, application_id: str, player_id: str, after: ListPosition | None, limit: int
    ) -> Sequence[RoomState]:
        """Up to ``limit`` rooms listing ``player_id`` as invited, not dismissed, not deleted,
        ordered by (creation time, room id) and starting after ``after``."""
        ...


TOKEN_BATCH = 500
"""Most token digests one query looks up (SQLite allows 999 parameters on old builds)."""


def token_batches(digests: Sequence[str]) -> Iterator[Sequence[str]]:
    """``digests`` in slices of at most ``TOKEN_BATCH``, one query each."""
    for start in range(0, len(digests), TOKEN_BATCH):
        yield digests[start : start + TOKEN_BATCH]


class Store(Protocol):
    """A database of rooms, create request ids and tokens."""

    def write(self) -> AbstractContextManager[Transaction]: ...

    def read(self) -> AbstractContextManager[Transaction]: ...

    def player_for_token_digest(self, digest: str) -> str | None: ...

    def add_token_digest(self, digest: str, player_id: str) -> str:
        """Store ``digest`` for ``player_id`` unless it is stored already, and return the player
        it stands for now: a digest is never moved to another player, so a caller that gets
        another id back knows nothing was changed."""

    def has_tokens(self) -> bool: ...

    def stored_players(self, digests: Sequence[str]) -> dict[str, str]:
        """The player each of ``digests`` is stored for, for those stored (one query per
        ``token_batches`` slice)."""
        ...

    def takes_writes(self) -> bool:
        """Whether the database answers a read and would take writes: ``False`` for a
        PostgreSQL standby (read-only while in recovery). The health check asks this."""
        ...

    def claim_auth_mode(self, mode: str) -> str:
        """Record ``mode`` as the database's authentication mode unless one is recorded already,
        and return the mode the database holds now. Atomic: of several processes claiming at once,
        exactly one records its mode and every one of them gets that mode back."""
        ...

    def auth_mode(self) -> str | None:
        """The recorded authentication mode, or ``None`` before any server has claimed one."""
        ...

    def close(self) -> None: ...

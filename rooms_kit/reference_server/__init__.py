"""The reference server: the room lifecycle of docs/room-lifecycle.md, kept in SQLite.

Layers, lowest first: ``state`` (a room and its derived status), ``parsing`` / ``rendering``
(wire dicts in and out), ``storage`` (the interface) and ``sqlite_store`` (its implementation),
``service`` (the eight operations), ``auth`` (tokens to players). ``adapter`` puts the service
behind the generated server stub of ``rooms_api``; ``app`` adds the health endpoint and access
logs. Nothing below ``adapter`` imports ``rooms_api``.
"""

from rooms_kit.reference_server.auth import TokenResolver, load_token_file, token_digest
from rooms_kit.reference_server.errors import Conflict, InvalidRequest, RoomNotFound, ServiceError
from rooms_kit.reference_server.service import DEFAULT_APPLICATION_ID, RoomService
from rooms_kit.reference_server.sqlite_store import SqliteStore, StoreError
from rooms_kit.reference_server.storage import Store, Transaction

__all__ = [
    "DEFAULT_APPLICATION_ID",
    "Conflict",
    "InvalidRequest",
    "RoomNotFound",
    "RoomService",
    "ServiceError",
    "SqliteStore",
    "Store",
    "StoreError",
    "TokenResolver",
    "Transaction",
    "load_token_file",
    "token_digest",
]

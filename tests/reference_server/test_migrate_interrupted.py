"""An upgrade of a PostgreSQL layout interrupted (SIGTERM or Ctrl-C during ``serve --migrate``,
which raise ``StopWhileStarting``) on a database gone mute: psycopg gives up cancelling the
statement after a few seconds and closes the connection, and the interruption must still be
what comes out of ``upgrade``, so that ``serve`` ends with exit 0 and ``stopped``. Before, the
lock release in ``finally`` failed on the closed connection and its ``OperationalError`` replaced
the interruption: ``serve`` exited 2 with 'cannot upgrade the database: the connection is
closed'. The same held for any failure that took the connection with it."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from rooms_kit.reference_server import postgres_schema
from rooms_kit.reference_server.serving import StopWhileStarting
from tests.reference_server.postgres_cluster import Cluster


class LostMidway:
    """A connection that, at the layout's first read, is closed under the caller (as psycopg
    does after a cancel that got no answer) and then raises ``failure``."""

    def __init__(self, connection: psycopg.Connection[Any], failure: BaseException) -> None:
        self._connection = connection
        self._failure = failure

    def execute(self, sql: str, *args: Any) -> Any:
        if "to_regclass" in sql:
            self._connection.close()
            raise self._failure
        return self._connection.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:  # transaction(), pgconn, close() for the bounds
        return getattr(self._connection, name)


@pytest.mark.parametrize(
    "failure",
    [StopWhileStarting(), psycopg.OperationalError("server closed the connection unexpectedly")],
    ids=["interrupted", "lost"],
)
def test_the_reason_an_upgrade_stopped_is_what_comes_out(
    postgres: Cluster, failure: BaseException
) -> None:
    url = postgres.create_database(f"upgrade_lost_{type(failure).__name__.lower()}")
    with psycopg.connect(url, autocommit=True) as connection:
        with pytest.raises(type(failure)) as raised:
            postgres_schema.upgrade(LostMidway(connection, failure), "the database")
    assert raised.value is failure

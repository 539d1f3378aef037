"""The cross-process writer lock of a SQLite file: writers of every process queue on an ``flock``
of ``<database>-writer`` (woken at once, unlike SQLite's sleeping busy handler), readers do not,
and a killed holder never wedges the database."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rooms_kit.reference_server import RoomService
from rooms_kit.reference_server.sqlite_store import WRITER_LOCK_SUFFIX, SqliteStore, StoreError

HANG_SECONDS = 60
"""Only a guard against a hang, never a measurement."""
STILL_WAITING_SECONDS = 0.5
"""How long a writer is given to (wrongly) get past a held side lock."""

HOLDER = """
import sys, time
from rooms_kit.reference_server.sqlite_store import SqliteStore
store = SqliteStore(sys.argv[1])
with store.write() as tx:
    tx.execute("INSERT INTO settings (key, value) VALUES ('holder', 'in')")
    print("holding", flush=True)
    time.sleep(600)
"""


def test_a_writer_waits_for_the_side_lock_and_goes_on_once_it_is_free(
    sqlite_path: Path, sqlite_store: SqliteStore
) -> None:
    service = RoomService(sqlite_store)
    room = service.create("alice", {"invitedPlayerIds": ["bob"]})
    side = os.open(str(sqlite_path) + WRITER_LOCK_SUFFIX, os.O_RDWR)
    done = threading.Event()
    answers: list[str] = []

    def write() -> None:
        answers.append(service.create("carol", {"invitedPlayerIds": ["bob"]})["roomId"])
        done.set()

    try:
        fcntl.flock(side, fcntl.LOCK_EX)  # as another process's writer would hold it
        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        # SQLite itself is not locked, so only the side lock can hold the writer back.
        assert not done.wait(STILL_WAITING_SECONDS)
        # readers never take it
        assert service.get("alice", room["roomId"])["roomId"] == room["roomId"]
        fcntl.flock(side, fcntl.LOCK_UN)
        assert done.wait(HANG_SECONDS)
        writer.join(HANG_SECONDS)
    finally:
        os.close(side)
    assert len(answers) == 1
    assert [r["roomId"] for r in service.list("bob")["items"]] == [room["roomId"], answers[0]]


def test_a_killed_holder_does_not_wedge_the_database(
    sqlite_path: Path, sqlite_store: SqliteStore
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(sqlite_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        side = os.open(str(sqlite_path) + WRITER_LOCK_SUFFIX, os.O_RDWR)
        try:  # the other process holds the side lock now
            with pytest.raises(BlockingIOError):
                fcntl.flock(side, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(side)
    finally:
        holder.send_signal(signal.SIGKILL)  # our own child, by its pid
        holder.wait(HANG_SECONDS)
        if holder.stdout is not None:
            holder.stdout.close()
    done = threading.Event()

    def write() -> None:
        RoomService(sqlite_store).create("alice", {"invitedPlayerIds": ["bob"]})
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(HANG_SECONDS)
    with sqlite_store.read() as tx:  # the killed holder's transaction was never committed
        rows = tx.execute("SELECT key FROM settings WHERE key = 'holder'").fetchall()
    assert rows == []


def test_a_store_gives_its_side_lock_back_when_closed(sqlite_path: Path) -> None:
    first = SqliteStore(sqlite_path)
    RoomService(first).create("alice", {"invitedPlayerIds": ["bob"]})
    first.close()
    side = os.open(str(sqlite_path) + WRITER_LOCK_SUFFIX, os.O_RDWR)
    try:  # nobody holds it after a write and a close
        fcntl.flock(side, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(side)


def _unknown_layout(path: Path) -> None:
    """A SQLite file with this store's tables but a layout version no rooms-kit has."""
    SqliteStore(path).close()
    os.remove(str(path) + WRITER_LOCK_SUFFIX)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = 99 WHERE key = 'schema'")
    connection.close()


REFUSED_FILES = {
    "text": (
        lambda path: path.write_text("this is not SQLite\n" * 100, encoding="utf-8"),
        "cannot open the database: file is not a database",
    ),
    "unknown layout": (_unknown_layout, "unknown database layout version (99)"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_FILES))
def test_a_refused_file_gets_no_side_file(tmp_path: Path, case: str) -> None:
    """The side file is made only once the database has opened with this layout: a refused
    file leaves nothing new next to it (before, ``<file>-writer`` stayed behind)."""
    make, message = REFUSED_FILES[case]
    path = tmp_path / "refused.db"
    make(path)
    with pytest.raises(StoreError) as refusal:
        SqliteStore(path)
    assert str(refusal.value) == f"{path}: {message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["refused.db"]


def test_an_opened_file_gets_its_side_file(sqlite_path: Path) -> None:
    """The other side of the test above: a usable file does get the side file, at once."""
    store = SqliteStore(sqlite_path)
    try:
        assert Path(str(sqlite_path) + WRITER_LOCK_SUFFIX).is_file()
    finally:
        store.close()


def test_every_name_of_one_database_takes_the_same_side_lock(tmp_path: Path) -> None:
    # through a link, the side file was made beside the link: two servers given the two names
    # locked different files and stopped handing the database to each other
    (tmp_path / "real folder").mkdir()
    real = tmp_path / "real folder" / "rooms.db"
    link = tmp_path / "link.db"
    link.symlink_to(real)
    for name in (link, real):
        SqliteStore(name).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.db", "real folder"]
    assert (tmp_path / "real folder" / f"rooms.db{WRITER_LOCK_SUFFIX}").is_file()

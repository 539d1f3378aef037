"""``rooms-kit tokens add``: a token that no client could send is refused (exit 2), never stored,
and never echoed; the player id in a refusal is shown, shortened."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rooms_kit.cli.main import main

REFUSED_TOKENS = {
    "empty": "",
    "leading space": " secret",
    "inner space": "sec ret",
    "newline": "secret\nX-Injected: 1",
    "non-ASCII": "s\u00e9cret",
    "too long": "x" * 4097,
}


def _stored(database: Path) -> int:
    """Rows of the reference server's token table (0 when there is no database yet)."""
    if not database.exists():
        return 0
    with sqlite3.connect(database) as connection:
        tables = connection.execute(
            "select name from sqlite_master where type = 'table' and name = 'tokens'"
        ).fetchall()
        if not tables:
            return 0
        count: int = connection.execute("select count(*) from tokens").fetchone()[0]
        return count


@pytest.mark.parametrize("case", sorted(REFUSED_TOKENS))
def test_unusable_tokens_are_refused(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "rooms.db"
    token = REFUSED_TOKENS[case]
    status = main(["tokens", "add", "alice", "--database", str(database), "--token", token])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.startswith("rooms-kit: error: --token must be 1 to 4096 visible ASCII characters")
    if token.strip():
        assert token.strip() not in err  # a secret is never echoed
    assert _stored(database) == 0


def test_a_usable_token_is_stored_and_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "rooms.db"
    token = "ok-token_1.~+/=" + "x" * 4000
    assert main(["tokens", "add", "alice", "--database", str(database), "--token", token]) == 0
    assert capsys.readouterr() == ("", "")  # stored, and never echoed
    assert _stored(database) == 1


def test_a_bad_player_id_is_named_and_shortened(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tokens", "add", "y" * 200, "--database", ":memory:"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "rooms-kit: error: a player id is 1 to 64 letters, digits, '.', '_' or '-', "
        f"got '{'y' * 77}...'\n"
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_new_token_that_cannot_be_shown_is_not_stored(tmp_path: Path) -> None:
    """It would sign a player in, and nobody would ever know it."""
    database = tmp_path / "rooms.db"
    with open("/dev/full", "w", encoding="utf-8") as full:
        done = subprocess.run(
            [sys.executable, "-m", "rooms_kit.cli.main", "tokens", "add", "zed",
             "--database", str(database)],
            stdout=full, stderr=subprocess.PIPE, text=True, check=False, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr
        == "rooms-kit: error: cannot write to standard output: No space left on device\n"
    )
    assert _stored(database) == 0


def test_a_new_token_whose_reader_has_gone_is_not_stored(tmp_path: Path) -> None:
    """A broken pipe is a quiet success elsewhere (| head); here it means nobody saw the token."""
    database = tmp_path / "rooms.db"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "rooms_kit.cli.main", "tokens", "add", "zed",
             "--database", str(database)],
            stdout=write_end, stderr=subprocess.PIPE, text=True, check=False, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert done.returncode == 2
    assert done.stderr == (
        "rooms-kit: error: cannot write to standard output: the reader has gone (broken pipe); "
        "the new token was not stored\n"
    )
    assert _stored(database) == 0

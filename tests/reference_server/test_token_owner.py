"""A token stands for one player. ``rooms-kit tokens add`` never moves a token: a token another player holds is refused (exit 1,
neither the token nor its holder named, nothing changed), and adding a player's own token again
is a success that changes nothing; ``serve`` refuses a token file that gives a stored token to
another player. On both stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from rooms_kit.cli.main import main
from rooms_kit.reference_server import token_digest
from rooms_kit.reference_server.auth import (
    STORED_TOKENS_IN_DEVELOPMENT,
    AuthModeError,
    TokenResolver,
)
from rooms_kit.reference_server.storage import Store
from rooms_kit.reference_server.stores import open_store

TAKEN = (
    "rooms-kit: error: that token already belongs to another player; tokens are not moved "
    "(pick another token, or leave out --token for a new one)\n"
)


@pytest.fixture
def address(database: str, tmp_path: Path) -> str:
    """``database`` (both stores), with a SQLite file instead of memory: each command opens it."""
    return str(tmp_path / "rooms.db") if database == ":memory:" else database


def stored(address: str) -> list[tuple[str, str]]:
    """The token table: (digest, player id) rows."""
    sql = "SELECT digest, player_id FROM tokens ORDER BY digest"
    if address.startswith("postgres"):
        with psycopg.connect(address) as connection:
            return [(str(d), str(p)) for d, p in connection.execute(sql).fetchall()]
    with sqlite3.connect(address) as connection:
        return [(str(d), str(p)) for d, p in connection.execute(sql).fetchall()]


def add(address: str, player: str, token: str) -> int:
    return main(["tokens", "add", player, "--database", address, "--token", token])


def test_a_token_of_another_player_is_refused_and_left_alone(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """R-token-1"""
    assert add(address, "carol", "same-token") == 0
    capsys.readouterr()
    before = stored(address)
    assert add(address, "dave", "same-token") == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", TAKEN)  # neither the token nor carol is named
    assert stored(address) == before == [(token_digest("same-token"), "carol")]
    store = open_store(address)
    try:
        assert store.player_for_token_digest(token_digest("same-token")) == "carol"
    finally:
        store.close()


def test_adding_a_players_own_token_again_succeeds(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        assert add(address, "carol", "carols-token") == 0
        assert capsys.readouterr() == ("", "")  # a token given is never echoed
    assert stored(address) == [(token_digest("carols-token"), "carol")]


def test_the_refusal_leaves_other_tokens_usable(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(address, "carol", "same-token") == 0
    assert add(address, "dave", "same-token") == 1
    assert add(address, "dave", "daves-token") == 0
    capsys.readouterr()
    assert sorted(player for _, player in stored(address)) == ["carol", "dave"]


def test_the_store_returns_the_holder_and_never_moves_a_digest(store: Store) -> None:
    digest = "a" * 64
    assert store.add_token_digest(digest, "carol") == "carol"
    assert store.add_token_digest(digest, "dave") == "carol"
    assert store.add_token_digest(digest, "carol") == "carol"
    assert store.player_for_token_digest(digest) == "carol"


def test_the_store_looks_up_many_digests_at_once(store: Store) -> None:
    held = {f"{n:064x}": f"player{n}" for n in range(1, 1203, 2)}  # 601: more than one slice
    for digest, player in held.items():
        store.add_token_digest(digest, player)
    asked = [f"{n:064x}" for n in range(1, 1204)]  # every other one is not stored
    assert store.stored_players(asked) == held
    assert store.stored_players([]) == {}


def test_a_token_file_giving_a_stored_token_to_another_player_is_refused(store: Store) -> None:
    """R-token-1: a token means one player, whichever source holds it."""
    store.add_token_digest(token_digest("shared-secret"), "carol")
    store.add_token_digest(token_digest("other-secret"), "erin")
    with pytest.raises(AuthModeError) as refused:
        TokenResolver(
            store,
            {"shared-secret": "dave", "other-secret": "frank", "own-secret": "gina"},
        )
    message = str(refused.value)
    assert message == (
        "a token in the token file stands for player 'dave', but the database holds the same "
        "token for player 'carol', and 1 more of the file's tokens are split the same way; a "
        "token means one player: give that player another token in the file or with "
        "'rooms-kit tokens add'"
    )
    assert "secret" not in message
    # The same token for the same player in both places is no conflict.
    resolver = TokenResolver(store, {"shared-secret": "carol", "own-secret": "gina"})
    assert resolver.resolve("shared-secret") == "carol"
    assert resolver.resolve("other-secret") == "erin"


def test_serve_refuses_a_token_file_that_splits_a_stored_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = str(tmp_path / "rooms.db")
    assert add(database, "carol", "shared-secret") == 0
    tokens = tmp_path / "tokens.json"
    tokens.write_text('{"shared-secret": "dave"}', encoding="utf-8")
    capsys.readouterr()
    code = main(["serve", "--port", "0", "--database", database, "--tokens", str(tokens)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert (
        "stands for player 'dave', but the database holds the same token for player 'carol'" in err
    )
    assert "shared-secret" not in err
    assert "Traceback" not in err
    assert stored(database) == [(token_digest("shared-secret"), "carol")]


def test_development_mode_is_refused_on_a_database_holding_tokens(store: Store) -> None:
    """R-token-4: it would never read them, and would record the database for good."""
    store.add_token_digest(token_digest("carols-secret"), "carol")
    with pytest.raises(AuthModeError) as refused:
        TokenResolver(store, dev_tokens=True)
    assert str(refused.value) == STORED_TOKENS_IN_DEVELOPMENT
    assert store.auth_mode() is None  # nothing recorded: the token start still works
    assert TokenResolver(store).resolve("carols-secret") == "carol"
    assert store.auth_mode() == "tokens"


def test_a_start_refused_for_a_split_token_records_no_mode(store: Store) -> None:
    store.add_token_digest(token_digest("shared-secret"), "carol")
    with pytest.raises(AuthModeError):
        TokenResolver(store, {"shared-secret": "dave"})
    assert store.auth_mode() is None

"""Authentication fails closed: development tokens only on request, the mode kept in the database."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from rooms_kit.reference_server import SqliteStore
from rooms_kit.reference_server.auth import (
    DEVELOPMENT_MODE,
    TOKEN_MODE,
    AuthModeError,
    TokenResolver,
)
from tests.reference_server.support import ServerProcess


def run_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooms_kit.cli.main", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def token_file(folder: Path, content: object) -> Path:
    path = folder / "tokens.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def test_without_any_token_source_the_server_refuses_to_start(tmp_path: Path) -> None:
    """R-token-4"""
    result = run_cli("serve", "--port", "0", "--database", "rooms.db", cwd=tmp_path)
    assert result.returncode == 2
    assert "no bearer tokens, so nobody could sign in" in result.stderr
    assert "--dev-tokens" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no new database was left behind
    # Refusing does not record a mode: the next start may still choose either.
    store = SqliteStore(tmp_path / "rooms.db")
    store.close()
    result = run_cli("serve", "--port", "0", "--database", "rooms.db", cwd=tmp_path)
    assert result.returncode == 2
    assert "no bearer tokens, so nobody could sign in" in result.stderr
    store = SqliteStore(tmp_path / "rooms.db")
    try:
        assert store.auth_mode() is None
    finally:
        store.close()


@pytest.mark.parametrize("content", [{}, [], {"": "alice"}, {"t": "not a player"}])
def test_a_refused_token_file_leaves_no_new_database(tmp_path: Path, content: object) -> None:
    tokens = token_file(tmp_path, content)
    result = run_cli(
        "serve", "--port", "0", "--database", "new.db", "--tokens", str(tokens), cwd=tmp_path
    )
    assert result.returncode == 2
    assert f"{tokens}: " in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json"]


def test_an_empty_token_file_refuses_to_start(tmp_path: Path) -> None:
    tokens = token_file(tmp_path, {})
    result = run_cli(
        "serve", "--port", "0", "--database", ":memory:", "--tokens", str(tokens), cwd=tmp_path
    )
    assert result.returncode == 2
    assert f"{tokens}: the token file holds no tokens, so nobody could sign in" in result.stderr
    assert "Traceback" not in result.stderr


def test_dev_tokens_and_a_token_file_exclude_each_other(tmp_path: Path) -> None:
    tokens = token_file(tmp_path, {"secret": "alice"})
    result = run_cli("serve", "--dev-tokens", "--tokens", str(tokens), cwd=tmp_path)
    assert result.returncode == 2
    assert "argument --tokens: not allowed with argument --dev-tokens" in result.stderr


def test_a_token_server_never_accepts_dev_tokens(tmp_path: Path) -> None:
    """R-token-2"""
    tokens = token_file(tmp_path, {"secret-of-alice": "alice"})
    with ServerProcess("--database", "rooms.db", "--tokens", str(tokens), cwd=tmp_path) as server:
        with server.client(None, token="secret-of-alice") as alice:
            assert alice.list().items == []
        with httpx.Client(base_url=server.base_url) as http:
            answer = http.get("/games/v1/rooms", headers={"Authorization": "Bearer dev-alice"})
        assert server.terminate() == 0
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "Invalid Credentials"


def test_a_second_process_with_the_other_mode_refuses_and_says_why(tmp_path: Path) -> None:
    """R-token-4: two processes on one database; the first records the mode, the second agrees
    or refuses."""
    tokens = token_file(tmp_path, {"secret-of-alice": "alice"})
    with ServerProcess("--dev-tokens", "--database", "rooms.db", cwd=tmp_path) as first:
        refused = run_cli(
            "serve", "--port", "0", "--database", "rooms.db", "--tokens", str(tokens),
            cwd=tmp_path,
        )  # fmt: skip
        agreeing = ServerProcess("--dev-tokens", "--database", "rooms.db", cwd=tmp_path)
        with agreeing, agreeing.client("bob") as bob:
            assert bob.list().items == []
            assert agreeing.terminate() == 0
        assert first.terminate() == 0
    assert refused.returncode == 2
    assert "the database is recorded in development mode" in refused.stderr
    assert "start this one with --dev-tokens as well" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "secret-of-alice" not in refused.stderr


def test_a_token_database_refuses_development_mode(tmp_path: Path) -> None:
    added = run_cli("tokens", "add", "alice", "--database", "rooms.db", cwd=tmp_path)
    assert added.returncode == 0
    with ServerProcess("--database", "rooms.db", cwd=tmp_path) as first:
        assert first.terminate() == 0
    refused = run_cli(
        "serve", "--port", "0", "--database", "rooms.db", "--dev-tokens", cwd=tmp_path
    )
    assert refused.returncode == 2
    assert "the database is recorded in 'tokens' mode" in refused.stderr
    assert "drop --dev-tokens" in refused.stderr


def test_tokens_cannot_be_added_to_a_development_database(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "rooms.db")
    try:
        TokenResolver(store, dev_tokens=True)
    finally:
        store.close()
    result = run_cli("tokens", "add", "alice", "--database", "rooms.db", cwd=tmp_path)
    assert result.returncode == 2
    assert "recorded in development mode (--dev-tokens)" in result.stderr


def test_concurrent_claims_agree_on_one_mode(tmp_path: Path) -> None:
    stores = [SqliteStore(tmp_path / "rooms.db") for _ in range(8)]
    modes = [DEVELOPMENT_MODE if i % 2 else TOKEN_MODE for i in range(8)]
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda pair: pair[0].claim_auth_mode(pair[1]),
                                    zip(stores, modes, strict=True)))  # fmt: skip
    finally:
        for store in stores:
            store.close()
    assert len(set(answers)) == 1
    assert answers[0] in (DEVELOPMENT_MODE, TOKEN_MODE)


def test_resolver_refusals(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    try:
        with pytest.raises(AuthModeError, match="nobody could sign in"):
            TokenResolver(store)
        with pytest.raises(AuthModeError, match="exclude each other"):
            TokenResolver(store, {"t": "alice"}, dev_tokens=True)
        assert store.auth_mode() is None
        assert TokenResolver(store, {"t": "alice"}).resolve("dev-alice") is None
        with pytest.raises(AuthModeError, match="recorded in 'tokens' mode"):
            TokenResolver(store, dev_tokens=True)
    finally:
        store.close()

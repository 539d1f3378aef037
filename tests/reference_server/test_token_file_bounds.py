"""The token-file reader bounds what it reads itself, whoever calls it (the CLI, or
``create_reference_app(tokens=Path(...))``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rooms_kit.reference_server.auth import MAX_TOKEN_FILE_BYTES, TokenFileError, load_token_file


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "tokens.json"
    with big.open("wb") as stream:
        stream.truncate(MAX_TOKEN_FILE_BYTES + 1)  # sparse: takes no room on disk
    with pytest.raises(TokenFileError, match="a token file may hold"):
        load_token_file(big)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "tokens.json"
    os.mkfifo(fifo)
    with pytest.raises(TokenFileError, match="not a regular file"):
        load_token_file(fifo)  # opening it would wait for a writer for ever

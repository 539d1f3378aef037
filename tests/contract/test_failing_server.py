"""A broken server over real HTTP: exit status 1, and the printed curl command reproduces it
(once ROOMS_KIT_TOKEN_N holds the N-th token: the command never shows one)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from rooms_kit.cli.main import main
from tests.contract.broken_variants.variants import ServerErrorOnClientMistake
from tests.contract.served import served


@pytest.fixture
def broken_url() -> Iterator[str]:
    """The variant that answers client mistakes with 500, served by uvicorn on 127.0.0.1."""
    with served(ServerErrorOnClientMistake()) as url:
        yield url


def test_failures_exit_1_and_the_curl_command_reproduces_them(
    broken_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "contract",
            "--url",
            broken_url,
            "--token",
            "dev-alice",
            "--token",
            "dev-bob",
            "--profile",
            "smoke",
        ]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "NOT CONFORMANT" in out
    block = out.split("[not_a_server_error]", 1)[1]
    assert "response: 500" in block
    curl = re.search(r"reproduce: (curl .*)", block)
    assert curl is not None
    assert "dev-alice" not in out and "dev-bob" not in out
    if shutil.which("curl") is None or shutil.which("sh") is None:
        pytest.skip("curl or sh is not installed; the command was printed but not run")
    env = {**os.environ, "ROOMS_KIT_TOKEN_1": "dev-alice", "ROOMS_KIT_TOKEN_2": "dev-bob"}
    completed = subprocess.run(
        ["sh", "-c", curl.group(1)], capture_output=True, text=True, env=env, check=False
    )
    assert completed.stdout.startswith("HTTP/1.1 500"), completed.stdout[:200]

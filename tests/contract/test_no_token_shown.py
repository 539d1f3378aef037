"""No output of the contract suite shows a bearer token: not stdout, not the ``rooms-kit: error:``
line, not report.txt, junit.xml or report.html, not ``pytest contract_tests``. Reproductions name
token N as ``$ROOMS_KIT_TOKEN_N`` (and still work once it is set); request dumps say ``<token N>``;
a token the server echoes back in a body or a header is replaced as well.

Before, every curl command and request dump printed ``Authorization: Bearer <the token>``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rooms_kit.cli.main import main
from rooms_kit.contract.http import Exchange, RecordedRequest, RecordedResponse
from rooms_kit.contract.secrets import Secrets
from tests.contract.broken_variants.rewriting import Answer, Call, Rewriter
from tests.contract.broken_variants.variants import ServerErrorOnClientMistake
from tests.contract.pytest_entry import run_pytest_entry
from tests.contract.served import served

# The reference server's development mode takes dev-<playerId>; the player ids are distinctive.
ALICE = "dev-secretAlice42"
BOB = "dev-secretBob77"
TOKENS = [ALICE, BOB]


def _sent_token(call: Call) -> str:
    return call.headers.get("authorization", "").partition(" ")[2]


class EchoesTheToken(ServerErrorOnClientMistake):
    """Client mistakes get a 500 whose message and ``X-Seen-Token`` header repeat the token."""

    def response(self, call: Call, answer: Answer) -> Answer:
        answer = super().response(call, answer)
        if answer.status == 500:
            token = _sent_token(call)
            data = answer.json()
            data["error"]["message"] = f"the request of {token} (token {token!r}) failed"
            answer.set_json(data)
            answer.headers["x-seen-token"] = f"Bearer {token}"
        return answer


class NoPlayerFound(Rewriter):
    """Every create answers 503 with the token in its body: setup cannot find the players."""

    def response(self, call: Call, answer: Answer) -> Answer:
        if call.operation == "create":
            answer.status = 503
            answer.set_json({"error": {"code": 503, "message": f"busy for {_sent_token(call)}"}})
        return answer


def _contract(url: str, report_dir: Path) -> list[str]:
    arguments = ["contract", "--url", url, "--profile", "smoke", "--report-dir", str(report_dir)]
    for token in TOKENS:
        arguments += ["--token", token]
    return arguments


def _assert_no_token(where: str, text: str) -> None:
    for token in TOKENS:
        assert token not in text, f"{where} shows the token {token!r}"


def test_reports_of_failures_show_no_token_even_one_the_server_echoes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with served(EchoesTheToken()) as url:
        status = main(_contract(url, tmp_path))
    captured = capsys.readouterr()
    assert status == 1
    outputs = {
        "stdout": captured.out,
        "stderr": captured.err,
        **{
            name: (tmp_path / name).read_text()
            for name in ("report.txt", "junit.xml", "report.html")
        },
    }
    for where, text in outputs.items():
        _assert_no_token(where, text)
    report = outputs["report.txt"]
    block = report.split("[not_a_server_error]", 1)[1]
    assert "response: 500" in block
    # The echo is in the report, as a placeholder; so is the request's own header.
    assert "x-seen-token: Bearer <token 1>" in block
    assert "the request of <token 1> (token '<token 1>') failed" in block
    assert "    Authorization: Bearer <token 1>\n" in block
    assert '-H "Authorization: Bearer $ROOMS_KIT_TOKEN_1"' in block
    assert "ROOMS_KIT_TOKEN_N" in report.split("\n\n", 1)[0]  # said once, at the top
    assert "Bearer &lt;token 1&gt;" in outputs["junit.xml"]
    assert "Bearer &lt;token 1&gt;" in outputs["report.html"]


def test_the_reproduction_works_once_the_token_variables_are_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with served(ServerErrorOnClientMistake()) as url:
        main(_contract(url, tmp_path))
        out = capsys.readouterr().out
        _assert_no_token("stdout", out)
        block = out.split("[not_a_server_error]", 1)[1]
        curl = re.search(r"reproduce: (curl .*)", block)
        assert curl is not None and "$ROOMS_KIT_TOKEN_" in curl.group(1)
        if shutil.which("curl") is None or shutil.which("sh") is None:
            pytest.skip("curl or sh is not installed; the command was printed but not run")
        env = {**os.environ, "ROOMS_KIT_TOKEN_1": ALICE, "ROOMS_KIT_TOKEN_2": BOB}
        completed = subprocess.run(
            ["sh", "-c", curl.group(1)], capture_output=True, text=True, env=env, check=False
        )
    assert completed.stdout.startswith("HTTP/1.1 500"), completed.stdout[:200]


def test_setup_error_on_stderr_shows_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cannot find the player of token number 1: … reproduce: curl …`` (exit 2)."""
    with served(NoPlayerFound()) as url:
        status = main(_contract(url, tmp_path))
    captured = capsys.readouterr()
    assert status == 2
    assert "rooms-kit: error: cannot find the player of token number 1" in captured.err
    assert '"Authorization: Bearer $ROOMS_KIT_TOKEN_1"' in captured.err
    assert "ROOMS_KIT_TOKEN_N" in captured.err
    _assert_no_token("stderr", captured.err)
    _assert_no_token("stdout", captured.out)


def test_pytest_entry_shows_no_token_when_the_server_is_unreachable() -> None:
    """Before, pytest's tracebacks printed ``token = 'VerPyTokA'`` (a frame's arguments) 30
    times."""
    completed = run_pytest_entry(
        "--base-url", "http://127.0.0.1:9", "--token", ALICE, "--token", BOB, "-l"
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-2000:]
    assert "the contract suite cannot run: cannot reach http://127.0.0.1:9" in output
    assert "Traceback" not in output and "token = " not in output
    _assert_no_token("pytest output", output)


def test_pytest_entry_failures_show_no_token() -> None:
    with served(EchoesTheToken()) as url:
        completed = run_pytest_entry(
            "--base-url", url, "--token", ALICE, "--token", BOB, "-k", "bad and parameters", "-rA"
        )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-2000:]
    assert "[not_a_server_error]" in output
    assert '"Authorization: Bearer $ROOMS_KIT_TOKEN_1"' in output
    assert "x-seen-token: Bearer <token 1>" in output
    _assert_no_token("pytest output", output)


def test_any_known_token_is_replaced_wherever_it_stands() -> None:
    """In the URL (an ``oauth_token``, percent-encoded), headers and bodies of both directions;
    a token shorter than 4 characters only where the suite itself put it."""
    secrets = Secrets.of(["VerAliceTok", "Tok/Bob+=x", "ab"])
    request = RecordedRequest(
        "POST",
        "http://h/games/v1/rooms?oauth_token=Tok%2FBob%2B%3Dx",
        (
            ("Authorization", "Bearer ab"),
            ("Authorization", "Bearer VerAliceTok"),
            ("X-Note", "it's VerAliceTok"),
        ),
        b'{"about": "VerAliceTok"}',
        secrets,
    )
    response = RecordedResponse(401, (("x-echo", "Tok/Bob+=x"),), b'{"t": "VerAliceTok"}')
    text = Exchange("games.rooms.create", request, response).describe()
    for token in ("VerAliceTok", "Tok/Bob+=x", "Tok%2FBob%2B%3Dx", "Bearer ab"):
        assert token not in text
    assert "oauth_token=<token 2>" in text
    assert "Authorization: Bearer <token 3>" in text
    assert "x-echo: <token 2>" in text
    assert '{"t": "<token 1>"}' in text
    curl = text.rsplit("reproduce: ", 1)[1]
    if shutil.which("sh") is None:
        pytest.skip("no sh to expand the command")
    env = {"ROOMS_KIT_TOKEN_1": "VerAliceTok", "ROOMS_KIT_TOKEN_2": "Tok/Bob+=x"}
    env["ROOMS_KIT_TOKEN_3"] = "ab"
    printed = subprocess.run(
        ["sh", "-c", curl.replace("curl ", 'printf "[%s]\\n" ', 1)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.splitlines()
    assert "[Authorization: Bearer ab]" in printed
    assert "[Authorization: Bearer VerAliceTok]" in printed
    assert "[X-Note: it's VerAliceTok]" in printed
    assert '[{"about": "VerAliceTok"}]' in printed
    # The placeholder stands for the token as given, not percent-encoded.
    assert "[http://h/games/v1/rooms?oauth_token=Tok/Bob+=x]" in printed

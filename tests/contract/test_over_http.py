"""The smoke profile over real HTTP against ``rooms-kit serve``, and the command's exit statuses."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rooms_kit.cli.main import main
from rooms_kit.contract.reference import reference_server


def test_reference_server_is_stopped_afterwards() -> None:
    with reference_server() as base_url:
        port = int(base_url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_contract_command_against_reference_writes_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The smoke profile over real HTTP: ``rooms-kit serve`` on 127.0.0.1, port 0, stopped by pid."""
    status = main(["contract", "--reference", "--profile", "smoke", "--report-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 0, out
    assert "CONFORMANT: " in out
    assert "NOT CONFORMANT" not in out
    for operation in (
        "create",
        "decline",
        "dismiss",
        "get",
        "join",
        "leave",
        "list",
        "reportStatus",
    ):
        # lines 0-3: target, profile and seed, the tokens note, blank
        assert f"  {operation}  " in out.splitlines()[4] + "  "
    assert "seed 20200331" in err
    assert ET.parse(tmp_path / "junit.xml").getroot().tag == "testsuites"
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    _assert_console_is_report_cut(out, (tmp_path / "report.txt").read_text(encoding="utf-8"))


_CUT = re.compile(
    r"… \(cut at (\d+) of ([\d,]+) characters; the whole command is in [^\n]*report\.txt\)$",
    re.MULTILINE,
)


def _assert_console_is_report_cut(console: str, whole: str) -> None:
    """The console's copy is report.txt, but for each long command whose tail it cuts and names."""
    at_console = at_whole = 0
    for cut in _CUT.finditer(console):
        kept = console[at_console : cut.start()]
        assert whole[at_whole : at_whole + len(kept)] == kept
        at_whole += len(kept) + int(cut[2].replace(",", "")) - int(cut[1])
        at_console = cut.end()
    assert whole[at_whole:] == console[at_console:]


def test_unreachable_server_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:  # bound, never listening: refused for as long as it is held
        taken.bind(("127.0.0.1", 0))  # (a port freed again could be taken by another server)
        url = f"http://127.0.0.1:{taken.getsockname()[1]}"
        status = main(
            ["contract", "--url", url, "--token", "a", "--token", "b", "--profile", "smoke"]
        )
    assert status == 2
    err = capsys.readouterr().err
    assert f"cannot reach {url}: cannot connect to 127.0.0.1:" in err
    assert err.endswith(": connection refused\n") and "Errno" not in err  # was [Errno 111] …


def test_fewer_than_two_tokens_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["contract", "--url", "http://127.0.0.1:1", "--token", "only-one"])
    assert status == 2
    assert "at least two --token" in capsys.readouterr().err


def test_bad_usage_exits_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["contract", "--token", "a", "--token", "b"])  # neither --url nor --reference
    assert exit_info.value.code == 2


def test_help_documents_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["contract", "--help"])
    out = capsys.readouterr().out
    for line in (
        "0  the implementation is conformant",
        "1  contract failures",
        "2  the suite could not run",
    ):
        assert line in out


def test_pytest_entry_over_http(tmp_path: Path) -> None:
    """``pytest contract_tests --base-url … --token … --token …`` against a real server."""
    root = Path(__file__).resolve().parents[2]
    with reference_server() as base_url:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                str(root / "contract_tests"),
                "--base-url",
                base_url,
                "--token",
                "dev-alice",
                "--token",
                "dev-bob",
                "--junitxml",
                str(tmp_path / "junit.xml"),
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert " passed" in completed.stdout
    assert ET.parse(tmp_path / "junit.xml").getroot().find(".//testcase") is not None

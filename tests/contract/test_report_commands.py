"""The console's copy of the report cuts a long curl command and says where the whole one is."""

from __future__ import annotations

from pathlib import Path

import pytest

from rooms_kit.cli.main import main
from rooms_kit.contract.report import render_text
from rooms_kit.contract.report.text import CONSOLE_COMMAND_CHARS
from rooms_kit.contract.results import Results

SHORT = "curl -sS -i -X GET 'http://127.0.0.1:1/games/v1/rooms/r1'"
LONG = "curl -sS -i -X POST --data-binary '" + "x" * 5000 + "' http://127.0.0.1:1/x"


def _results() -> Results:
    results = Results(seed=1, profile="smoke", target="http://127.0.0.1:1")
    results.latency = {"games.rooms.get": [0.001], "games.rooms.join": [0.002]}
    results.slowest = {"games.rooms.get": (0.001, SHORT), "games.rooms.join": (0.002, LONG)}
    return results


def _slowest_lines(text: str) -> list[str]:
    # split at line feeds only: a fuzzed body may hold U+2028, which splitlines() also breaks at
    return text.split("slowest request per operation:\n", 1)[1].split("\n\n", 1)[0].split("\n")


def test_the_file_keeps_every_command_whole() -> None:
    assert _slowest_lines(render_text(_results())) == [
        f"  get (1 ms): {SHORT}",
        f"  join (2 ms): {LONG}",
    ]


def test_the_console_cuts_a_long_command_and_says_where_it_is_whole() -> None:
    text = render_text(_results(), whole_commands_in="the whole command is in out/report.txt")
    assert _slowest_lines(text) == [
        f"  get (1 ms): {SHORT}",
        f"  join (2 ms): {LONG[:CONSOLE_COMMAND_CHARS]}… (cut at {CONSOLE_COMMAND_CHARS} of "
        f"{len(LONG):,} characters; the whole command is in out/report.txt)",
    ]


@pytest.mark.parametrize("report_dir", [True, False])
def test_a_run_prints_no_command_longer_than_the_cut(
    report_dir: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the smoke profile fuzzes bodies of several KiB; the console shows each command cut
    argv = ["contract", "--reference", "--profile", "smoke", "--seed", "7"]
    if report_dir:
        argv += ["--report-dir", str(tmp_path)]
    assert main(argv) == 0
    printed = _slowest_lines(capsys.readouterr().out)
    assert len(printed) == 8
    commands = [line.split(": ", 1)[1] for line in printed]
    cut = [command for command in commands if "… (cut at" in command]
    assert cut, "the smoke run fuzzes no long body at this seed"
    where = f"{tmp_path / 'report.txt'})" if report_dir else "--report-dir keeps it whole)"
    for command in commands:
        if command in cut:
            assert command.index("… (cut at") == CONSOLE_COMMAND_CHARS
            assert command.endswith(where)
        else:
            assert len(command) <= CONSOLE_COMMAND_CHARS
    if report_dir:
        written = _slowest_lines((tmp_path / "report.txt").read_text(encoding="utf-8"))
        assert [line.split(": ", 1)[0] for line in written] == [
            line.split(": ", 1)[0] for line in printed
        ]
        assert all("… (cut at" not in line for line in written)
        assert max(len(line) for line in written) > CONSOLE_COMMAND_CHARS + 30

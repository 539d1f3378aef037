"""Standard streams handed over broken: every command says so in one line and exits 2.

Catalogue: (how the stream is broken, the command) -> the exact message on standard error.
Each case runs the installed console script with the descriptor closed or on /dev/full.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import ROOMS_KIT, ROOTDIR

FULL = "cannot write to standard output: No space left on device"
CLOSED_OUT = "cannot write to standard output: it is closed"
CLOSED_IN = "<stdin>: cannot read: standard input is closed"

INVALID_ROOM = '{"kind": "games#room", "status": "x"}\n'

# (redirection for sh, arguments, expected stderr line)
CASES = {
    "validate, stdout full": (">/dev/full", ["validate", "{room}"], FULL),
    "validate, stdout closed": (">&-", ["validate", "{room}"], CLOSED_OUT),
    "validate, stdin closed": ("<&-", ["validate", "-"], CLOSED_IN),
    "validate, no path, stdin closed": ("<&-", ["validate"], CLOSED_IN),
    "validate /dev/stdin, stdin closed": (  # was "No such file or directory"
        "<&-",
        ["validate", "/dev/stdin"],
        "/dev/stdin: cannot read: standard input is closed",
    ),
    "schemas show, stdout full": (">/dev/full", ["schemas", "show", "room"], FULL),
    "example, stdout full": (">/dev/full", ["example", "room"], FULL),
    "--version, stdout full": (">/dev/full", ["--version"], FULL),
    "--help, stdout full": (">/dev/full", ["validate", "--help"], FULL),
}


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_stream_is_one_clear_line_and_exit_2(case: str, tmp_path: Path) -> None:
    redirection, arguments, expected = CASES[case]
    room = tmp_path / "room.json"
    room.write_text(INVALID_ROOM)
    argv = " ".join(f"'{a.format(room=room)}'" for a in arguments)
    done = subprocess.run(
        ["sh", "-c", f"exec '{ROOMS_KIT}' {argv} {redirection}"],
        capture_output=True,
        text=True,
        cwd=ROOTDIR,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"rooms-kit: error: {expected}\n" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_a_closed_stderr_does_not_change_the_verdict(tmp_path: Path) -> None:
    room = tmp_path / "room.json"
    room.write_text(INVALID_ROOM)
    done = subprocess.run(
        ["sh", "-c", f"exec '{ROOMS_KIT}' validate '{room}' 2>&-"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1
    assert "games#room /status: [enum]" in done.stdout


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    many = tmp_path / "many.ndjson"
    many.write_text(INVALID_ROOM * 20000)
    done = subprocess.run(
        ["sh", "-c", f"'{ROOMS_KIT}' validate '{many}' | head -n 1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "error" not in done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_failure_someone_caught_still_ends_the_command_with_it() -> None:
    # The proxy's request handler catches what its printing raises and goes on serving; the
    # command must still end with the output failure (exit 2), not with its own verdict.
    script = (
        "import sys\n"
        "from rooms_kit.cli.streams import OutputFailed, guarded_stdout\n"
        "try:\n"
        "    with guarded_stdout():\n"
        "        try:\n"
        "            print('violation', flush=True)\n"
        "        except OutputFailed:\n"
        "            pass\n"
        "        print('verdict')\n"
        "except OutputFailed as exc:\n"
        "    sys.stderr.write(f'raised at the end: {exc}')\n"
        "    sys.exit(2)\n"
    )
    done = subprocess.run(
        ["sh", "-c", f"exec '{sys.executable}' -c \"$0\" >/dev/full", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (
        2,
        "raised at the end: cannot write to standard output: No space left on device",
    )

"""``rooms-kit serve`` limits stay limits, the application id stays a short printable string, and
the token file is a regular file of at most 16 MiB: anything else is refused while parsing (exit
2), before any port or database is opened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rooms_kit.cli.main import main

BASE = ["serve", "--port", "0", "--dev-tokens", "--database", ":memory:"]

# (option, value) -> the exact complaint
REFUSED = {
    ("--max-body-bytes", "999999999999"): "999999999999 is more than the largest allowed, 64M",
    ("--max-connections", "999999999"): "999999999 is more than the largest allowed, 100000",
    ("--header-timeout", "999999.999"): "999999.999 is more than the largest allowed, 3600",
    ("--body-timeout", "3601"): "3601 is more than the largest allowed, 3600",
    ("--keep-alive-timeout", "86400"): "86400 is more than the largest allowed, 3600",
    ("--application-id", ""): "must be 1 to 256 printable characters (no line breaks or other "
    "control characters)",
    ("--application-id", "a\nb"): "must be 1 to 256 printable characters (no line breaks or other "
    "control characters)",
    ("--application-id", "a" * 257): "must be 1 to 256 printable characters (no line breaks or "
    "other control characters)",
}


@pytest.mark.parametrize(("option", "value"), sorted(REFUSED))
def test_out_of_range_serve_options_are_refused(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*BASE, option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"rooms-kit serve: error: argument {option}: {REFUSED[option, value]}\n" in err
    assert "listening" not in err


def test_a_token_file_that_is_not_a_regular_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "tokens.fifo"
    os.mkfifo(fifo)  # reading it would block the start for ever
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", "--port", "0", "--database", ":memory:", "--tokens", str(path)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert f"rooms-kit serve: error: argument --tokens: {path}: not a regular file\n" in err


def test_a_token_file_larger_than_16_mib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "tokens.json"
    with big.open("wb") as stream:
        stream.truncate(1024**3)  # sparse: no room on disk, 1 GiB if read
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", "0", "--database", ":memory:", "--tokens", str(big)])
    assert exit_info.value.code == 2
    assert (
        f"argument --tokens: {big}: 1073741824 bytes, more than the 16777216 a token file may hold\n"
        in capsys.readouterr().err
    )

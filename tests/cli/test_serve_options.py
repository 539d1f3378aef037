"""``rooms-kit serve`` limits stay limits, and the application id stays a short printable string:
out-of-range values are refused while parsing (exit 2), before any port or database is opened."""

from __future__ import annotations

import pytest

from rooms_kit.cli.main import main

BASE = ["serve", "--port", "0", "--dev-tokens", "--database", ":memory:"]

# (option, value) -> the exact complaint
REFUSED = {
    ("--max-body-bytes", "999999999999"): "999999999999 is more than the largest allowed, 67108864",
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

"""A usage error never quotes a value argparse could not place: a mistyped option's value or a
stray word may be a password or a token. Option names are still named, cut at '='."""

from __future__ import annotations

import pytest

from rooms_kit.cli.main import main

SECRET = "postgresql://alice:hunter2@db.internal/rooms"

# arguments -> the end of the usage error
CASES = [
    (["db", "upgrade", SECRET], "rooms-kit: error: unrecognized arguments: 1 value (not shown: one may be a secret)"),
    (["serve", "--databse", SECRET], "rooms-kit: error: unrecognized arguments: --databse and 1 value (not shown: one may be a secret)"),
    (["serve", f"--databse={SECRET}"], "rooms-kit: error: unrecognized arguments: --databse and 1 value (not shown: one may be a secret)"),
    (["serve", f"--d={SECRET}"], "rooms-kit serve: error: ambiguous option: --d=… could match --database, --dev-tokens"),
    (["contract", "--url", "http://127.0.0.1:9", "--token", "hunter1", "hunter2"], "rooms-kit: error: unrecognized arguments: 1 value (not shown: one may be a secret)"),
    (["validate", "--nope", "--also-not", "room.json"], "rooms-kit: error: unrecognized arguments: --nope --also-not"),
]  # fmt: skip


@pytest.mark.parametrize(("arguments", "message"), CASES)
def test_a_usage_error_names_options_and_hides_values(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(arguments)
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(message + "\n"), err
    assert "hunter" not in err

"""``rooms-kit contract`` options out of range: refused by argparse (exit 2, one line), before
anything is started or sent; a bound can never be switched off by NaN, an infinity or a typo."""

from __future__ import annotations

from pathlib import Path

import pytest

from rooms_kit.cli.main import main

URL = "http://127.0.0.1:9"  # never contacted: every case is refused while parsing

# (option, value) -> the exact complaint
OUT_OF_RANGE = {
    ("--request-timeout", "nan"): "argument --request-timeout: must be above 0 and at most 86400, "
    "got nan",
    ("--request-timeout", "inf"): "argument --request-timeout: must be above 0 and at most 86400, "
    "got inf",
    ("--request-timeout", "-1"): "argument --request-timeout: must be above 0 and at most 86400, "
    "got -1",
    ("--request-timeout", "0"): "argument --request-timeout: must be above 0 and at most 86400, "
    "got 0",
    ("--max-time", "nan"): "argument --max-time: must be above 0 and at most 86400, got nan",
    ("--max-time", "1e300"): "argument --max-time: must be above 0 and at most 86400, got 1e300",
    ("--max-time", "ten"): "argument --max-time: 'ten' is not a number",
    ("--seed", "abc"): "argument --seed: 'abc' is not a whole number",
    ("--max-response-bytes", "99999999999999"): "argument --max-response-bytes: 99999999999999 "
    "is more than the largest allowed, 1G",
    ("--max-response-bytes", "2G"): "argument --max-response-bytes: 2G is more than the largest "
    "allowed, 1G",
    ("--max-response-bytes", "1.5"): "argument --max-response-bytes: '1.5' is not a size such as "
    "65536, 512K, 100M or 1G",
    ("--max-response-bytes", "0"): "argument --max-response-bytes: '0' is not a size such as "
    "65536, 512K, 100M or 1G",
}


@pytest.mark.parametrize(("option", "value"), sorted(OUT_OF_RANGE))
def test_out_of_range_values_are_refused_while_parsing(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["contract", "--url", URL, "--token", "a", "--token", "b", option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"rooms-kit contract: error: {OUT_OF_RANGE[option, value]}\n" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("below", ["", "deeper/folder"])
def test_a_report_dir_that_cannot_be_a_folder_is_refused_before_the_run(
    below: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("mine\n")
    target = taken / below if below else taken
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["contract", "--url", URL, "--token", "a", "--token", "b", "--report-dir", str(target)]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --report-dir: {taken} is a file, not a folder\n" in err
    assert "rooms-kit contract: profile" not in err  # refused before the suite announced itself
    assert taken.read_text() == "mine\n"


# --url values and tokens that cannot make a request: exit 2 with one line, nothing sent.
UNUSABLE_TARGETS = {
    "no host": (
        ["--url", "http://", "--token", "a", "--token", "b"],
        "'http:' is not an http:// or https:// URL with a host",
    ),
    "token with CR LF": (
        ["--url", URL, "--token", "dev-a\r\nX-Evil: 1", "--token", "b"],
        "token number 1 cannot be sent in an 'Authorization: Bearer' header",
    ),
    "empty token": (
        ["--url", URL, "--token", "a", "--token", ""],
        "token number 2 cannot be sent in an 'Authorization: Bearer' header",
    ),
    "token with a space": (
        ["--url", URL, "--token", "a b", "--token", "c"],
        "token number 1 cannot be sent in an 'Authorization: Bearer' header",
    ),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE_TARGETS))
def test_unusable_urls_and_tokens_are_one_line_and_exit_2(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments, message = UNUSABLE_TARGETS[case]
    assert main(["contract", *arguments, "--profile", "smoke", "--max-time", "5"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"rooms-kit: error: {message}" in err
    assert "Traceback" not in err and "X-Evil" not in err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", "'http://[::1' is not a usable URL: Invalid IPv6 URL"),
        (
            "http://127.0.0.1:99999",
            "'http://127.0.0.1:99999' is not a usable URL: Port out of range 0-65535",
        ),
    ],
)
def test_urls_python_cannot_take_apart_are_usage_errors(
    url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked while parsing, as replay --url and proxy --upstream are."""
    with pytest.raises(SystemExit) as refused:
        main(["contract", "--url", url, "--token", "a", "--token", "b"])
    assert refused.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"rooms-kit contract: error: argument --url: {message}\n"
    )

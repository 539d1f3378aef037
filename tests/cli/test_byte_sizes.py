"""Every option that takes a number of bytes reads it the same way: digits, optionally followed by
K, M or G (powers of 1024, either case), above 0 and at most the option's own bound. Before, the
proxy took ``512K`` while ``validate --max-bytes``, ``serve --max-body-bytes`` and ``contract
--max-response-bytes`` wanted plain digits and each said so in its own words."""

from __future__ import annotations

import argparse

import pytest

from rooms_kit.cli.arguments import byte_size, size_text
from rooms_kit.cli.main import build_parser

UPSTREAM = "http://127.0.0.1:9"

# option -> (the arguments before it, the attribute it fills, its largest value)
OPTIONS = {
    "validate --max-bytes": (["validate"], "max_bytes", 1024**3),
    "serve --max-body-bytes": (["serve"], "max_body_bytes", 64 * 1024**2),
    "contract --max-response-bytes": (["contract", "--reference"], "max_response_bytes", 1024**3),
    "proxy --max-request-bytes": (["proxy", "--upstream", UPSTREAM], "max_request_bytes", 1024**3),
    "proxy --max-response-bytes": (
        ["proxy", "--upstream", UPSTREAM],
        "max_response_bytes",
        1024**3,
    ),
}


def _parse(name: str, value: str) -> int:
    before, attribute, _ = OPTIONS[name]
    parsed = build_parser().parse_args([*before, name.split()[1], value])
    result = getattr(parsed, attribute)
    assert isinstance(result, int)
    return result


@pytest.mark.parametrize("name", OPTIONS)
@pytest.mark.parametrize(
    ("value", "size"),
    [("1", 1), ("65536", 65536), ("512K", 512 * 1024), ("512k", 512 * 1024), ("1M", 1024**2)],
)
def test_every_byte_option_takes_the_same_forms(name: str, value: str, size: int) -> None:
    assert _parse(name, value) == size


@pytest.mark.parametrize("name", OPTIONS)
def test_every_byte_option_takes_its_bound_and_refuses_one_more(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    most = OPTIONS[name][2]
    assert _parse(name, size_text(most)) == most
    with pytest.raises(SystemExit) as exit_info:
        _parse(name, str(most + 1))
    assert exit_info.value.code == 2
    option = name.split()[1]
    expected = f"argument {option}: {most + 1} is more than the largest allowed, {size_text(most)}"
    assert capsys.readouterr().err.endswith(f"error: {expected}\n")


# value -> the exact complaint (the same for every option)
REFUSED = {
    "0": "'0' is not a size such as 65536, 512K, 100M or 1G",
    "0K": "'0K' is not a size such as 65536, 512K, 100M or 1G",
    "-1": "'-1' is not a size such as 65536, 512K, 100M or 1G",
    "1.5M": "'1.5M' is not a size such as 65536, 512K, 100M or 1G",
    "1 M": "'1 M' is not a size such as 65536, 512K, 100M or 1G",
    "1MB": "'1MB' is not a size such as 65536, 512K, 100M or 1G",
    "1T": "'1T' is not a size such as 65536, 512K, 100M or 1G",
    "": "'' is not a size such as 65536, 512K, 100M or 1G",
    "\u0661\u0660": "'\u0661\u0660' is not a size such as 65536, 512K, 100M or 1G",
    "9" * 31: f"'{'9' * 31}' is not a size such as 65536, 512K, 100M or 1G",
}


@pytest.mark.parametrize("value", REFUSED)
def test_a_value_that_is_no_size_is_refused_alike(value: str) -> None:
    for most in (None, 1024):
        with pytest.raises(argparse.ArgumentTypeError) as refused:
            byte_size(most)(value)
        assert str(refused.value) == REFUSED[value]


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (1024**3, "1G"),
        (64 * 1024**2, "64M"),
        (3 * 1024, "3K"),
        (1536 * 1024, "1536K"),
        (1000, "1000"),
    ],
)
def test_a_bound_is_written_in_the_largest_unit_that_divides_it(size: int, text: str) -> None:
    assert size_text(size) == text
    assert byte_size(None)(text) == size


@pytest.mark.parametrize(
    ("value", "most", "complaint"),
    [
        # sixteen digits were called no size at all
        ("1" + "0" * 15, 1024**3, f"{'1' + '0' * 15} is more than the largest allowed, 1G"),
        # an option without a bound of its own (--rotate-bytes, --max-held-bytes) took 10**24
        ("999999999999999G", None, "999999999999999G is more than the largest allowed, 1024G"),
        ("1025G", None, "1025G is more than the largest allowed, 1024G"),
    ],
)
def test_a_size_too_large_is_called_too_large(value: str, most: int | None, complaint: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        byte_size(most)(value)
    assert str(refused.value) == complaint
    assert byte_size(None)("1024G") == 1024**4

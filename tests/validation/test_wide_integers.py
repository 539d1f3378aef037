"""Integers beyond 64 bits are JSON: they are read exactly and shown as written. orjson read them
as floats (``10**25`` was reported as ``1e+25``) and refused those past the largest float as
"not JSON: number is infinity when parsed as double"; an integer longer than Python reads gets
an issue of its own, with its place."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms_kit.validation import Validators
from rooms_kit.validation.numbers import WideIntegerError, load, may_hold_wide_integer
from rooms_kit.validation.reading import Notices, read
from rooms_kit.validation.run import Checker

CREATE = '{"kind":"games#roomCreateRequest","variant":'  # the number starts at column 45
TOO_MANY = "an integer has more than 4300 digits, more than validate reads"


@pytest.fixture(scope="module")
def validators() -> Validators:
    return Validators.load()


# document -> the exact messages validate gives (not --strict)
CATALOGUE = {
    CREATE + "10000000000000000000000000}": [
        "[maximum] 10000000000000000000000000 is out of range"
    ],
    CREATE + "18446744073709551616}": ["[maximum] 18446744073709551616 is out of range"],
    CREATE + "-9223372036854775809}": [
        "[minimum] -9223372036854775809 is out of range"
    ],
    # past the largest float: orjson refused it as "not JSON"
    CREATE + "1" + "0" * 400 + "}": [
        "[maximum] 1" + "0" * 58 + "… is out of range"
    ],
    CREATE + "9" * 5000 + "}": [f"[json] {TOO_MANY} (line 1, column 45)"],
    '{\n"kind":"games#roomCreateRequest",\n"variant":' + "9" * 5000 + "}": [
        f"[json] {TOO_MANY} (line 3, column 11)"
    ],
    # a float past the largest double is still refused, as before
    CREATE + "1e400}": ["[json] not JSON: number is infinity when parsed as double (line 1, column 45)"],
    # an int64 sent as a string, as Google's JSON sends them, is a string: untouched
    CREATE + '1,"requestId":"-9223372036854775808"}': [],
}  # fmt: skip


@pytest.mark.parametrize("document", CATALOGUE)
def test_each_wide_integer_gets_its_exact_answer(validators: Validators, document: str) -> None:
    found = validators.check_bytes(document.encode())
    assert [f"[{issue.keyword}] {issue.message}" for issue in found] == CATALOGUE[document]


def test_an_unknown_member_may_hold_any_integer_unless_strict(tmp_path: Path) -> None:
    raw = (CREATE + '1,"extra":' + "9" * 5000 + "}").encode()
    assert Validators.load().check_bytes(raw) == []  # an unknown member is allowed; JSON allows it
    found = Validators.load(strict=True).check_bytes(raw)
    assert [issue.message for issue in found] == [f"{TOO_MANY} (line 1, column 55)"]


def test_lines_and_arrays_are_read_exactly(validators: Validators, tmp_path: Path) -> None:
    lines = tmp_path / "wide.ndjson"
    wide = "1" + "0" * 24
    lines.write_text(f"{CREATE}1}}\n{CREATE}{wide}}}\n{CREATE}{'9' * 5000}}}\n")
    array = tmp_path / "wide.json"
    array.write_text(f"[{CREATE}1}}, {CREATE}-{wide}}}]")
    checker = Checker(validators, kind=None, max_errors=10)
    messages = []
    for path in (lines, array):
        for record in read(str(path), notices=Notices(), accept=checker.quick):
            result = checker.check(record)
            if result is not None:
                messages += [(result.line_of(i), i.message) for i in result.issues]
    assert messages == [
        (2, f"{wide} is out of range"),
        (3, f"{TOO_MANY} (line 3, column 45)"),
        (1, f"-{wide} is out of range"),
    ]


@settings(max_examples=200)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(10**60), max_value=10**60)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
)
def test_load_reads_what_json_wrote_exactly(value: object) -> None:
    text = json.dumps(value)
    assert json.dumps(load(text.encode())) == text  # an integer read as a float would show


def test_load_keeps_orjsons_refusals() -> None:
    for text in (
        b'{"a":',
        b"[NaN]",
        b"[Infinity]",
        b"[" + b"9" * 400 + b", NaN]",
        b"[1e400]",
        b"[" + b"9" * 30 + b", 1e400]",
    ):
        with pytest.raises(orjson.JSONDecodeError):
            load(text)
    with pytest.raises(WideIntegerError):
        load(b"[" + b"9" * 5000 + b"]")
    # A syntax error after an integer orjson refused is named, where it is (it was orjson's
    # "number is infinity" at the integer).
    with pytest.raises(orjson.JSONDecodeError) as broken:
        load(b"[" + b"9" * 400 + b",]")
    assert (broken.value.msg, broken.value.colno) == ("Expecting value", 403)
    # json takes a lone surrogate escape that orjson refuses: refused here too, where it is
    with pytest.raises(orjson.JSONDecodeError) as lone:
        load(b'{"x": ' + b"1" * 400 + b', "k": ["\\ud83d\\ude00", "\\ud800"]}')
    assert lone.value.msg.startswith("a string holds a lone surrogate escape")
    assert lone.value.colno == 432  # the escape after the pair
    with pytest.raises(orjson.JSONDecodeError) as constant:  # was orjson's "infinity" at col 7
        load(b'{"x": ' + b"9" * 400 + b', "s": "NaN", "y": NaN}')
    assert constant.value.msg.startswith("NaN is not JSON")
    assert constant.value.colno == 426
    paired = load(b'{"x": ' + b"1" * 400 + b', "k": "\\ud83d\\ude00"}')
    assert paired["k"] == "\U0001f600"
    deep = b"[" * 1000 + b"1" + b"0" * 20 + b"]" * 1000  # orjson reads 1,024 levels, json fewer
    value = load(deep)
    for _ in range(1000):
        (value,) = value
    assert value == 1e20  # orjson's reading, the next best


@pytest.mark.parametrize(
    ("body", "may"),
    [
        # 20 digits, or 19 after a minus, may not fit: these do, and are read again for nothing
        (b"[18446744073709551615]", True),
        (b"[-9223372036854775808]", True),
        (b"[1844674407370955161]", False),
        (b"[-922337203685477580]", False),
        (b"[18446744073709551616]", True),
        (b"[-9223372036854775809]", True),
        (b'{"a": 99999999999999999999}', True),
        (b'{"a": "x99999999999999999999"}', False),  # in a string, after a letter
        (b"[1.99999999999999999999]", False),  # a fraction's digits
    ],
)
def test_which_bodies_are_read_again(body: bytes, may: bool) -> None:
    assert may_hold_wide_integer(body) is may


def test_a_syntax_error_on_an_ndjson_line_names_the_files_line(
    validators: Validators, tmp_path: Path
) -> None:
    # "line 1" of its own one-line document was printed next to the file's line 3
    path = tmp_path / "broken.ndjson"
    path.write_text('{"kind":"games#room"}\n{"kind":"games#room"}\n{"kind":"games#room","x":[1,}\n')
    checker = Checker(validators, kind=None, max_errors=10)
    found = [checker.check(r) for r in read(str(path), notices=Notices(), accept=checker.quick)]
    (result,) = [r for r in found if r is not None]
    assert [(result.line_of(i), i.message) for i in result.issues] == [
        (3, "not JSON: unexpected character, expected a JSON value (line 3, column 29)")
    ]

"""Invalid UTF-8: found wherever it sits, located by line, column and byte offset, and never let
through by the fast path (msgspec does not look at the bytes of members it skips)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms_kit.validation import Validators
from rooms_kit.validation.encoding import BadUtf8, is_utf8, sniff, utf8_issue
from rooms_kit.validation.reading import Notices, read
from rooms_kit.validation.run import Checker

ROOM = b'{"kind":"games#room",'  # 21 bytes: what follows starts at byte offset 21, column 22
PREFIX = "not JSON: invalid UTF-8 at line "

# (document, expected message): one hostile input each.
CATALOGUE = [
    (ROOM + b'"\xff":1}', "1, column 23 (byte offset 22): 0xff (invalid start byte)"),
    (ROOM + b'"roomId":"ab\xffc"}', "1, column 34 (byte offset 33): 0xff (invalid start byte)"),
    (ROOM + b'"roomId":"\xc3', "1, column 32 (byte offset 31): 0xc3 (incomplete sequence at the end of the input)"),
    (ROOM + b'"roomId":"\xf0\x9f\x98', "1, column 32 (byte offset 31): 0xf0 0x9f 0x98 (incomplete sequence at the end of the input)"),
    (ROOM + b'"roomId":"\xc3"}', '1, column 32 (byte offset 31): 0xc3 0x22 (invalid continuation byte)'),
    (ROOM + b'"roomId":"\xc0\xaf"}', "1, column 32 (byte offset 31): 0xc0 0xaf (overlong encoding)"),
    (ROOM + b'"roomId":"\xe0\x80\xaf"}', "1, column 32 (byte offset 31): 0xe0 0x80 0xaf (overlong encoding)"),
    (ROOM + b'"roomId":"\xed\xa0\x80"}', "1, column 32 (byte offset 31): 0xed 0xa0 0x80 (UTF-16 surrogate)"),
    (ROOM + b'"roomId":"\xf4\x90\x80\x80"}', "1, column 32 (byte offset 31): 0xf4 0x90 0x80 0x80 (beyond U+10FFFF)"),
    (ROOM + b'"roomId":"\x80"}', "1, column 32 (byte offset 31): 0x80 (continuation byte without a lead byte)"),
    (ROOM + b'"roomId":"\xf5\x80\x80\x80"}', "1, column 32 (byte offset 31): 0xf5 (invalid start byte)"),
    # columns count characters: "é" is two bytes and "😀" four, one column each
    (ROOM + '"roomId":"é😀'.encode() + b'\xff"}', "1, column 34 (byte offset 37): 0xff (invalid start byte)"),
    (b'{\n  "kind": "games#room",\n  "roomId": "caf\xc3\xa9\xff"\n}\n', "3, column 18 (byte offset 44): 0xff (invalid start byte)"),
    (b"\xff", "1, column 1 (byte offset 0): 0xff (invalid start byte)"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "expected"), CATALOGUE)
def test_each_bad_sequence_is_located_and_named(data: bytes, expected: str) -> None:
    issue = utf8_issue(data)
    assert issue is not None
    assert issue.message == PREFIX + expected
    assert issue.keyword == "json"
    assert issue.pointer == ""
    assert issue.line == int(expected.split(",", maxsplit=1)[0])
    assert not is_utf8(data)


def test_the_offset_of_the_document_in_its_input_is_added() -> None:
    issue = utf8_issue(ROOM + b'"\xff":1}', offset=1000)
    assert issue is not None
    assert issue.message == PREFIX + "1, column 23 (byte offset 1022): 0xff (invalid start byte)"


@pytest.mark.parametrize(
    "data",
    [b"", b"{}", '{"roomId":"café 😀 中文 \u2028"}'.encode(), "\ufeff".encode(), b"\xef\xbf\xbd"],
)
def test_valid_utf8_has_no_issue(data: bytes) -> None:
    assert utf8_issue(data) is None
    assert is_utf8(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=32).map(lambda t: t.encode("utf-8", "replace")))
def test_is_utf8_agrees_with_pythons_strict_decoder(data: bytes) -> None:
    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert is_utf8(data) is valid
    assert (utf8_issue(data) is None) is valid


def test_moving_the_issue_to_another_line_rewords_it() -> None:
    # --jobs checks a file in pieces, and a document's line becomes the line of the file: the
    # line in the message must follow, as the one in the report does.
    issue = utf8_issue(ROOM + b'"\xff":1}', offset=70)
    assert isinstance(issue, BadUtf8)
    moved = issue.at_line(3)
    assert moved.line == 3
    assert moved.message == PREFIX + "3, column 23 (byte offset 92): 0xff (invalid start byte)"
    assert issue.message == PREFIX + "1, column 23 (byte offset 92): 0xff (invalid start byte)"
    assert pickle.loads(pickle.dumps(moved)) == moved  # sent back by --jobs workers


@pytest.fixture(scope="module")
def validators() -> Validators:
    return Validators.load()


def test_the_fast_path_refuses_a_bad_byte_in_a_member_it_skips(validators: Validators) -> None:
    # Unknown members are allowed (not --strict), so msgspec skips this one without decoding it:
    # this document used to be reported valid.
    raw = ROOM + b'"\xff":1}'
    assert validators.fast.accepts(raw, None) is False
    assert validators.fast.accepts(raw, "games#room") is False
    assert validators.fast.accepts(ROOM + '"é":1}'.encode(), None) is True
    assert [issue.message for issue in validators.check_bytes(raw)] == [
        PREFIX + "1, column 23 (byte offset 22): 0xff (invalid start byte)"
    ]


def test_the_checker_reports_a_bad_line_at_its_line_and_offset(
    validators: Validators, tmp_path: Path
) -> None:
    good = b'{"kind":"games#room","roomId":"\xc3\xa9"}\n'  # 36 bytes
    path = tmp_path / "lines.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + good + good + ROOM + b'"\xff":1}\n')
    checker = Checker(validators, kind=None, max_errors=10)
    notices = Notices()
    results = [checker.check(r) for r in read(str(path), notices=notices, accept=checker.quick)]
    found = [r for r in results if r is not None]
    assert [(r.line, r.index) for r in found] == [(3, 3)]
    (issue,) = found[0].issues
    # the byte-order mark counts in the byte offset (3 + 36 + 36 + 22), not in columns
    assert issue.message == PREFIX + "3, column 23 (byte offset 97): 0xff (invalid start byte)"
    assert found[0].line_of(issue) == 3
    assert checker.accepted == 2


def test_sniffing_reads_a_first_line_whose_only_fault_is_its_bytes() -> None:
    assert sniff(ROOM + b'"\xff":1}') == {"kind": "games#room", "\ufffd": 1}
    with pytest.raises(ValueError):
        sniff(ROOM + b'"\xff":}')
    with pytest.raises(ValueError):
        sniff(b'{"kind":')

"""``rooms-kit validate`` on input that is not UTF-8: an invalid document (exit 1) whose message
says where the bad bytes are, on every input form. Before, a bad byte in a member the schema does
not declare passed as valid (exit 0), and elsewhere the message said ``line 1, column 1``."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from rooms_kit.traffic.aliases import Aliases
from rooms_kit.traffic.operations import Route
from rooms_kit.traffic.recording import Recorder
from rooms_kit.traffic.seen import Seen
from tests.cli.conftest import Run
from tests.traffic.lines import LIST_EXCHANGE

ROOM = b'{"kind":"games#room",'  # 21 bytes
GOOD = ROOM + b'"roomId":"r1"}\n'  # 36 bytes
BAD = ROOM + b'"\xff":1}\n'  # 28 bytes; the bad byte is the 23rd (byte offset 22 of the line)
AT = "(root): [json] not JSON: invalid UTF-8 at line "


def _lines(stdout: str) -> tuple[list[str], str]:
    *body, summary = stdout.splitlines()
    return body, summary


# (file content, the report's line after the file name); each is one invalid document
CATALOGUE = [
    (  # the report of the bug: a member the fast path skips without reading its bytes
        b'{"kind":"games#roomCreateRequest","\xff":1}',
        ":1: " + AT + "1, column 36 (byte offset 35): 0xff (invalid start byte)",
    ),
    (
        ROOM + b'"roomId":"ab\xffc"}',
        ":1: " + AT + "1, column 34 (byte offset 33): 0xff (invalid start byte)",
    ),
    (
        ROOM + b'"roomId":"\xc3',
        ":1: " + AT + "1, column 32 (byte offset 31): 0xc3 (incomplete sequence at the end of the input)",
    ),
    (
        ROOM + b'"roomId":"\xc0\xaf"}',
        ":1: " + AT + "1, column 32 (byte offset 31): 0xc0 0xaf (overlong encoding)",
    ),
    (
        ROOM + b'"roomId":"\xed\xa0\x80"}',
        ":1: " + AT + "1, column 32 (byte offset 31): 0xed 0xa0 0x80 (UTF-16 surrogate)",
    ),
    (  # columns count characters ("é" and "😀" one each), the byte offset counts bytes
        ROOM + '"roomId":"é😀'.encode() + b'\xff"}',
        ":1: " + AT + "1, column 34 (byte offset 37): 0xff (invalid start byte)",
    ),
    (  # pretty JSON: the line of the bad byte, in the report and in the message
        b'{\n  "kind": "games#room",\n  "roomId": "caf\xc3\xa9\xff"\n}\n',
        ":3: " + AT + "3, column 18 (byte offset 44): 0xff (invalid start byte)",
    ),
    (  # a byte-order mark: skipped for columns, counted in the byte offset
        b"\xef\xbb\xbf" + BAD,
        ":1: " + AT + "1, column 23 (byte offset 25): 0xff (invalid start byte)",
    ),
    (  # an array of documents is one document when it cannot be read, as with a syntax error
        b"[" + GOOD + b"," + BAD + b"]",
        ":2: " + AT + "2, column 24 (byte offset 60): 0xff (invalid start byte)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("content", "expected"), CATALOGUE)
def test_each_hostile_input_is_one_invalid_document(
    rooms_kit: Run, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    done = rooms_kit("validate", str(path))
    assert done.returncode == 1, done
    body, summary = _lines(done.stdout)
    assert body == [f"{path}{expected}"]
    assert summary.startswith("1 document, 1 invalid, ")
    assert "Traceback" not in done.stderr


def test_a_bad_ndjson_line_is_reported_at_its_line_of_the_file(
    rooms_kit: Run, tmp_path: Path
) -> None:
    data = GOOD + GOOD + BAD + GOOD
    expected = AT + "3, column 23 (byte offset 94): 0xff (invalid start byte)"
    plain = tmp_path / "lines.ndjson"
    plain.write_bytes(data)
    packed = tmp_path / "lines.ndjson.gz"
    packed.write_bytes(gzip.compress(data))
    for args, stdin, name in [
        ((str(plain),), None, str(plain)),
        ((str(packed),), None, str(packed)),  # the offset is in the decompressed bytes
        (("-",), data, "<stdin>"),
        ((), gzip.compress(data), "<stdin>"),
    ]:
        done = rooms_kit("validate", *args, stdin=stdin)
        assert done.returncode == 1, done
        body, summary = _lines(done.stdout)
        assert body == [f"{name}:3: {expected}"]
        assert summary.startswith("4 documents, 1 invalid, ")


def test_a_bad_first_line_does_not_hide_the_other_lines(rooms_kit: Run, tmp_path: Path) -> None:
    # Read from an unknown name (or standard input), a file is NDJSON when its first line is a
    # JSON value: a bad byte in that line used to make the whole file one broken document.
    data = BAD + GOOD + ROOM + b'"roomId":1}\n'
    path = tmp_path / "lines.txt"
    path.write_bytes(data)
    for args, stdin, name in [((str(path),), None, str(path)), ((), data, "<stdin>")]:
        done = rooms_kit("validate", *args, stdin=stdin)
        assert done.returncode == 1, done
        body, summary = _lines(done.stdout)
        assert body == [
            f"{name}:1: " + AT + "1, column 23 (byte offset 22): 0xff (invalid start byte)",
            f"{name}:3: games#room /roomId: [type] got integer 1; expected string",
        ]
        assert summary.startswith("3 documents, 2 invalid, ")


def test_jobs_report_the_line_and_offset_of_the_whole_file(rooms_kit: Run, tmp_path: Path) -> None:
    # 400 lines in two pieces of about 200 lines: line 300 is checked by the second process,
    # which counts lines from the start of its piece; the message must say the file's line.
    lines = [GOOD] * 400
    lines[2] = lines[299] = BAD
    path = tmp_path / "many.ndjson"
    path.write_bytes(b"".join(lines))
    expected = [
        f"{path}:3: " + AT + "3, column 23 (byte offset 94): 0xff (invalid start byte)",
        f"{path}:300: " + AT + "300, column 23 (byte offset 10778): 0xff (invalid start byte)",
    ]
    for jobs in ("1", "2"):
        done = rooms_kit("validate", "--jobs", jobs, str(path))
        assert done.returncode == 1, done
        body, summary = _lines(done.stdout)
        assert body == expected
        assert summary.startswith("400 documents, 2 invalid, ")


def test_every_format_carries_the_location(rooms_kit: Run, tmp_path: Path) -> None:
    path = tmp_path / "lines.ndjson"
    path.write_bytes(GOOD + GOOD + BAD)
    message = (
        "not JSON: invalid UTF-8 at line 3, column 23 (byte offset 94): 0xff (invalid start byte)"
    )
    text = rooms_kit("validate", "--format", "text", str(path))
    assert (text.returncode, _lines(text.stdout)[0]) == (1, [f"{path}:3: (root): [json] {message}"])
    json = rooms_kit("validate", "--format", "json", str(path))
    assert json.returncode == 1
    error, summary = (orjson.loads(line) for line in json.stdout.splitlines())
    assert error == {
        "type": "error",
        "file": str(path),
        "line": 3,
        "document": 3,
        "kind": None,
        "pointer": "",
        "keyword": "json",
        "message": message,
        "value": None,
        "expected": None,
    }
    assert (summary["documents"], summary["invalid"], summary["unreadable"]) == (3, 1, 0)
    github = rooms_kit("validate", "--format", "github", str(path))
    assert github.returncode == 1
    assert _lines(github.stdout)[0] == [
        f"::error file={path},line=3,title=document (root) [json]::{message}"
    ]


def test_valid_non_ascii_documents_stay_valid(rooms_kit: Run, tmp_path: Path) -> None:
    line = ROOM + '"roomId":"é😀 中文","descrïption":"ünknown members are fine"}\n'.encode()
    lines = tmp_path / "lines.ndjson"
    lines.write_bytes(line * 300)
    packed = tmp_path / "lines.ndjson.gz"
    packed.write_bytes(gzip.compress(line * 300))
    single = tmp_path / "one.json"
    single.write_bytes(b"\xef\xbb\xbf" + line)
    for args, stdin, count in [
        ((str(lines),), None, 300),
        (("--jobs", "2", str(lines)), None, 300),
        ((str(packed),), None, 300),
        ((str(single),), None, 1),
        (("-",), line * 3, 3),
    ]:
        done = rooms_kit("validate", *args, stdin=stdin)
        assert done.returncode == 0, done
        assert done.stdout.startswith(f"{count} document{'s' if count > 1 else ''}, 0 invalid, ")


def test_a_recording_with_bad_bytes_gets_the_same_words(rooms_kit: Run, tmp_path: Path) -> None:
    exchange = LIST_EXCHANGE
    good = orjson.dumps(exchange) + b"\n"
    bad = good.replace(b'"items":[]', b'"items":[],"x":"\xff"')
    column = bad.index(b"\xff") + 1
    path = tmp_path / "traffic.ndjson"
    for lines, line in [([good, bad, good], 2), ([bad, good, good], 1)]:
        path.write_bytes(b"".join(lines))
        offset = len(good) * (line - 1) + column - 1
        words = (
            f"not JSON: invalid UTF-8 at line {line}, column {column} (byte offset {offset}): "
            "0xff (invalid start byte)"
        )
        done = rooms_kit("validate", str(path))
        assert done.returncode == 1, done
        body, summary = _lines(done.stdout)
        # A bad first line no longer hides that the file is a recording: the other lines'
        # bodies are checked as such (the recording lines themselves have no kind).
        assert body == [f"{path}:{line}: (root): [json] {words}"]
        assert summary.startswith("3 documents, 1 invalid, ")
        replay = rooms_kit("replay", str(path), "--url", "http://127.0.0.1:9")
        assert replay.returncode == 2
        assert replay.stderr == f"rooms-kit: error: {path}:{line}: {words}\n"


def test_help_says_how_invalid_utf8_is_reported(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "--help")
    assert done.returncode == 0
    assert "invalid UTF-8 makes a document invalid (JSON is UTF-8)" in done.stdout
    assert AT.removeprefix("(root): ") + "3, column 23 (byte offset 94): 0xff" in done.stdout


def test_a_recorded_body_that_was_not_utf8_is_invalid(rooms_kit: Run, tmp_path: Path) -> None:
    # The proxy records a body it cannot read as text, each bad sequence replaced by U+FFFD;
    # that text reads as a valid request, which validate used to accept.
    path = tmp_path / "traffic.ndjson"
    recorder = Recorder(path, Aliases())
    bodies = [
        b'{"kind":"games#roomCreateRequest","variant":2,"\xff":1}',  # 1: bad bytes only
        b'{"kind":"games#roomCreateRequest","variant":2}',  # 2: fine
        '{"kind":"games#roomCreateRequest","note":"\ufffd"}'.encode(),  # 3: a U+FFFD of its own
        b'{"kind":"games#roomCreateRequest","variant":\xff}',  # 4: not JSON anyway
    ]
    for number, body in enumerate(bodies, start=1):
        seen = Seen(
            number=number,
            started=1_700_000_000.0,
            method="POST",
            path="/games/v1/rooms/create",
            query="",
            player="player-1",
            request_headers=[],
            request_body=body,
            status=200,
            response_headers=[],
            response_body=b"",
        )
        recorder.write(seen, Route("games.rooms.create", None))
    recorder.close()
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert ["requestText" in line for line in lines] == [True, False, False, True]
    done = rooms_kit("validate", str(path))
    assert done.returncode == 1, done
    body, summary = _lines(done.stdout)
    assert body == [
        f"{path}:1: games#roomCreateRequest /requestText: [json] not JSON: invalid UTF-8; the "
        "recording keeps the body as text with U+FFFD in place of each bad sequence, the first "
        "at line 1, column 48 of the body",
        f"{path}:4: games#roomCreateRequest /requestText: [json] not JSON: unexpected character, "
        "expected a JSON value (line 1, column 45)",
    ]
    assert summary.startswith("4 documents, 2 invalid, ")

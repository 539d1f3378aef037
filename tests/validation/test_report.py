"""The output formats write their lines in large pieces, lose none of them, and keep their order."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from rooms_kit.validation import Validators, run
from rooms_kit.validation.issues import Issue
from rooms_kit.validation.reading import Record
from rooms_kit.validation.report import CHUNK_CHARS, REPORTS
from rooms_kit.validation.run import Result, Totals


class Recorder(io.StringIO):
    """A text stream that remembers every ``write`` and ``flush`` call."""

    def __init__(self, *, tty: bool = False) -> None:
        super().__init__()
        self.writes: list[str] = []
        self.flushes = 0
        self.tty = tty

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)

    def flush(self) -> None:
        self.flushes += 1

    def isatty(self) -> bool:
        return self.tty


def _result(index: int) -> Result:
    issues = tuple(
        Issue(
            f"/participants/{n}/status",
            "enum",
            '"JOINED" is not an allowed value',
            '"JOINED"',
            "one of A, B",
            line=index,
        )
        for n in range(3)
    )
    return Result("rooms.ndjson", index, index, "games#room", issues)


RESULTS = [_result(index) for index in range(1, 2001)]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_lines_go_out_in_large_pieces_in_order(name: str) -> None:
    out = Recorder()
    report = REPORTS[name](out)
    for result in RESULTS:
        report.result(result)
    report.summary(Totals(documents=2000, invalid=2000), 1.0)
    text = out.getvalue()
    lines = text.splitlines()
    assert len(lines) == 3 * len(RESULTS) + 1
    # One write per piece of about CHUNK_CHARS characters, not one per line or per document.
    assert len(out.writes) <= len(text) // CHUNK_CHARS + 2
    assert all(len(piece) < CHUNK_CHARS + 4096 for piece in out.writes)
    # The same lines, in the same order, as one document at a time through a terminal.
    tty = Recorder(tty=True)
    per_document = REPORTS[name](tty)
    for result in RESULTS:
        per_document.result(result)
    per_document.summary(Totals(documents=2000, invalid=2000), 1.0)
    assert tty.getvalue() == text
    assert len(tty.writes) == len(RESULTS) + 1  # a terminal sees each document when checked


def test_json_lines_carry_every_field() -> None:
    out = Recorder()
    report = REPORTS["json"](out)
    report.result(RESULTS[4])
    report.flush()
    first = orjson.loads(out.getvalue().splitlines()[0])
    assert first == {
        "type": "error",
        "file": "rooms.ndjson",
        "line": 5,
        "document": 5,
        "kind": "games#room",
        "pointer": "/participants/0/status",
        "keyword": "enum",
        "message": '"JOINED" is not an allowed value',
        "value": '"JOINED"',
        "expected": "one of A, B",
    }


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_flush_writes_what_is_pending(name: str) -> None:
    out = Recorder()
    report = REPORTS[name](out)
    report.result(RESULTS[0])
    assert out.getvalue() == ""  # held back: far less than a piece
    report.flush()
    assert len(out.getvalue().splitlines()) == 3
    assert out.flushes == 1


def test_an_interrupted_run_still_writes_what_it_found(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from rooms_kit.cli.main import EXIT_INTERRUPTED, main  # noqa: PLC0415

    bad = orjson.dumps({"kind": "games#played", "timeMillis": 12})
    path = tmp_path / "played.ndjson"
    path.write_bytes(b"\n".join([bad] * 50) + b"\n")
    checked = 0
    real = run.Checker.check

    def check_then_stop(self: run.Checker, record: Record) -> Result | None:
        nonlocal checked
        checked += 1
        if checked > 40:
            raise KeyboardInterrupt
        return real(self, record)

    monkeypatch.setattr(run.Checker, "check", check_then_stop)
    assert main(["validate", "--format", "json", "--no-progress", str(path)]) == EXIT_INTERRUPTED
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["document"] for line in lines] == list(range(1, 41))
    assert {line["pointer"] for line in lines} == {"/timeMillis"}


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_an_issue_without_a_line_is_shown_on_its_documents_line(name: str) -> None:
    # The checker leaves ``line`` unset on the issues of a one-line NDJSON document.
    on_line_7 = Issue("/status", "enum", "bad", '"x"', "one of A")
    own_line = Issue("", "json", "not JSON", line=9)
    out = Recorder()
    report = REPORTS[name](out)
    report.result(Result("rooms.ndjson", 3, 7, "games#room", (on_line_7, own_line)))
    report.flush()
    first, second = out.getvalue().splitlines()
    assert "rooms.ndjson:7:" in first or '"line":7,' in first or ",line=7," in first
    assert "rooms.ndjson:9:" in second or '"line":9,' in second or ",line=9," in second


def test_a_checked_ndjson_line_puts_every_issue_on_that_line() -> None:
    validators = Validators.load()
    checker = run.Checker(validators, kind=None, max_errors=10)
    raw = orjson.dumps({"kind": "games#played", "timeMillis": 12, "autoMatched": "no"})
    found = checker.check(Record("played.ndjson", 4, 11, raw=raw + b"\n"))
    assert found is not None
    assert [(i.pointer, found.line_of(i)) for i in found.issues] == [
        ("/autoMatched", 11),
        ("/timeMillis", 11),
    ]
    broken = checker.check(Record("played.ndjson", 5, 12, raw=b'{"kind": ]\n'))
    assert broken is not None
    assert [(i.keyword, broken.line_of(i)) for i in broken.issues] == [("json", 12)]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_a_live_input_gets_each_documents_lines_at_once(name: str) -> None:
    out = Recorder()
    report = REPORTS[name](out)
    report.follow(True)  # standard input: perhaps ``tail -f``
    report.result(RESULTS[0])
    assert len(out.getvalue().splitlines()) == 3  # not held back for a later piece
    report.result(RESULTS[1])
    assert len(out.writes) == 2
    report.follow(False)  # a file: large pieces again
    for result in RESULTS[2:50]:
        report.result(result)
    assert len(out.writes) == 2


def test_standard_input_is_followed_document_by_document(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from rooms_kit.cli.main import EXIT_FAILED, main  # noqa: PLC0415

    bad = orjson.dumps({"kind": "games#played", "timeMillis": 12})
    path = tmp_path / "played.ndjson"
    path.write_bytes(b"\n".join([bad] * 30) + b"\n")
    out = Recorder()
    with path.open("rb") as source:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(source))
        monkeypatch.setattr("sys.stdout", out)
        assert main(["validate", "--no-progress", "-"]) == EXIT_FAILED
    assert len(out.writes) == 30 + 1  # one per invalid document, then the summary
    assert out.writes[0].startswith("<stdin>:1: games#played /timeMillis: [type]")


def test_an_unreadable_path_is_a_record_with_the_fields_of_an_error() -> None:
    out = io.StringIO()
    report = REPORTS["json"](out)
    report.result(_result(1))
    report.unreadable("dumps/a,b:c.json.gz", "cannot read: Not a gzipped file (b'ga')")
    report.flush()
    error, unreadable = (orjson.loads(line) for line in out.getvalue().splitlines()[2:4])
    assert list(unreadable) == list(error)  # same keys, same order: consumers read it alike
    assert unreadable == {
        "type": "error",
        "file": "dumps/a,b:c.json.gz",
        "line": None,
        "document": None,
        "kind": None,
        "pointer": None,
        "keyword": "read",
        "message": "cannot read: Not a gzipped file (b'ga')",
        "value": None,
        "expected": None,
    }


def test_an_unreadable_path_is_a_github_error_annotation_escaped() -> None:
    out = io.StringIO()
    report = REPORTS["github"](out)
    report.unreadable("dumps/a,b:c%.json", "cannot read: 100% gone\nreally")
    report.flush()
    assert out.getvalue() == (
        "::error file=dumps/a%2Cb%3Ac%25.json::cannot read: 100%25 gone%0Areally\n"
    )


def test_the_text_report_leaves_an_unreadable_path_to_standard_error() -> None:
    out = io.StringIO()
    report = REPORTS["text"](out)
    report.unreadable("missing.json", "cannot read: No such file or directory")
    report.flush()
    assert out.getvalue() == ""

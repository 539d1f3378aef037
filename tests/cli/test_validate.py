"""``rooms-kit validate`` through the installed console script: options, formats, exit statuses."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import ROOMS_KIT, ROOTDIR, Run

VALID = ROOTDIR / "schemas" / "examples" / "valid"
INVALID = ROOTDIR / "schemas" / "examples" / "invalid"
SNAPSHOTS = Path(__file__).parent / "snapshots"
SUMMARY = re.compile(
    r"^\d+ documents?, \d+ invalid(, \d+ unreadable)?, \d+\.\d\d s, [\d,]+ documents/s$"
)


def _body(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    return lines[:-1]


def _compact(path: Path) -> bytes:
    return json.dumps(json.loads(path.read_text())).encode()


def test_golden_invalid_examples_text_output_is_pinned(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "--strict", "schemas/examples/invalid/*/*.json")
    assert done.returncode == 1
    snapshot = SNAPSHOTS / "invalid-examples.txt"
    assert "\n".join(_body(done.stdout)) + "\n" == snapshot.read_text()
    count = len(json.loads((INVALID / "expected.json").read_text()))
    assert done.stdout.splitlines()[-1].startswith(f"{count} documents, {count} invalid")


def test_valid_examples_exit_zero(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "schemas/examples/valid")
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("24 documents, 0 invalid, ")
    assert done.stderr == ""


def test_kind_option_short_and_full_names(rooms_kit: Run, tmp_path: Path) -> None:
    path = tmp_path / "level.json"
    path.write_text('{"level": 3, "minExperiencePoints": "12"}')
    assert rooms_kit("validate", str(path)).returncode == 1  # no kind, no --kind
    assert rooms_kit("validate", "--kind", "playerLevel", str(path)).returncode == 0
    assert rooms_kit("validate", "--kind", "games#playerLevel", str(path)).returncode == 0
    wrong = rooms_kit("validate", "--kind", "room", str(path))
    assert wrong.returncode == 0  # unknown properties are tolerated by default
    strict = rooms_kit("validate", "--strict", "--kind", "room", str(path))
    assert strict.returncode == 1
    assert "unknown properties 'level', 'minExperiencePoints'" in strict.stdout


def test_unknown_kind_option_is_a_usage_error(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "--kind", "rooms", "schemas/examples/valid/room.json")
    assert done.returncode == 2
    assert "unknown kind 'rooms'" in done.stderr


def test_missing_kind_is_reported(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "-", stdin=b'{"roomId": "r1"}')
    assert done.returncode == 1
    assert "<stdin>:1: (root): [kind] the document has no kind" in done.stdout


def test_strict_catches_the_typo(rooms_kit: Run) -> None:
    path = INVALID / "room" / "typo-roomStatusVerison.json"
    assert rooms_kit("validate", str(path)).returncode == 0
    done = rooms_kit("validate", "--strict", str(path))
    assert done.returncode == 1
    assert "did you mean 'roomStatusVersion'?" in done.stdout


def test_max_errors(rooms_kit: Run) -> None:
    document = (
        b'{"kind": "games#room", "roomId": 1, "status": "x", "variant": "y", "description": 2}'
    )
    assert len(_body(rooms_kit("validate", "-", stdin=document).stdout)) == 4
    assert len(_body(rooms_kit("validate", "--max-errors", "2", "-", stdin=document).stdout)) == 2
    assert rooms_kit("validate", "--max-errors", "0", "-", stdin=document).returncode == 2


def test_json_format_one_record_per_error(rooms_kit: Run) -> None:
    done = rooms_kit(
        "validate", "--format", "json", str(INVALID / "room" / "status-unknown-value.json")
    )
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert records[0] == {
        "type": "error",
        "file": "schemas/examples/invalid/room/status-unknown-value.json".replace("/", "/"),
        "line": 5,
        "document": 1,
        "kind": "games#room",
        "pointer": "/status",
        "keyword": "enum",
        "message": '"room_active" is not an allowed value',
        "value": '"room_active"',
        "expected": "one of ROOM_INVITING, ROOM_AUTO_MATCHING, ROOM_CONNECTING, ROOM_ACTIVE, ROOM_DELETED",
    } | {"file": str(INVALID / "room" / "status-unknown-value.json")}
    assert records[1]["type"] == "summary"
    assert (records[1]["documents"], records[1]["invalid"]) == (1, 1)


def test_github_format_annotations(rooms_kit: Run) -> None:
    done = rooms_kit(
        "validate",
        "--format",
        "github",
        "schemas/examples/invalid/played/timeMillis-not-decimal.json",
    )
    first, summary = done.stdout.splitlines()
    assert first.startswith(
        "::error file=schemas/examples/invalid/played/timeMillis-not-decimal.json,line=3,"
        'title=games#played /timeMillis [pattern]::"12a" is not an int64 string; expected decimal digits'
    )
    assert summary.startswith("::notice title=rooms-kit validate::1 document, 1 invalid")


def _ndjson(tmp_path: Path, name: str) -> Path:
    lines = [
        _compact(VALID / "room.json"),
        b"",
        _compact(INVALID / "room" / "status-unknown-value.json"),
    ]
    lines += [_compact(VALID / "played.json"), b"{broken"]
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize("name", ["dump.ndjson", "dump.jsonl", "dump.txt"])
def test_ndjson_by_extension_and_detected(rooms_kit: Run, tmp_path: Path, name: str) -> None:
    done = rooms_kit("validate", str(_ndjson(tmp_path, name)))
    assert done.returncode == 1
    body = _body(done.stdout)
    assert [line.split(": ")[0].rsplit(":", 1)[1] for line in body] == ["3", "5"]
    assert "[enum]" in body[0]
    assert "[json] not JSON" in body[1]
    assert done.stdout.splitlines()[-1].startswith("4 documents, 2 invalid")


def test_gzip_inputs(rooms_kit: Run, tmp_path: Path) -> None:
    plain = _ndjson(tmp_path, "dump.ndjson")
    packed = tmp_path / "dump.ndjson.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    expected = _body(rooms_kit("validate", str(plain)).stdout)
    got = _body(rooms_kit("validate", str(packed)).stdout)
    assert [line.replace(str(packed), str(plain)) for line in got] == expected
    single = tmp_path / "room.json.gz"
    single.write_bytes(gzip.compress((INVALID / "room" / "status-unknown-value.json").read_bytes()))
    assert ":5: games#room /status: [enum]" in rooms_kit("validate", str(single)).stdout
    stdin = rooms_kit("validate", stdin=gzip.compress(plain.read_bytes()))
    assert len(_body(stdin.stdout)) == 2


def test_json_array_reports_lines_of_elements(rooms_kit: Run, tmp_path: Path) -> None:
    items = [
        json.loads((VALID / "played.json").read_text()),
        json.loads((INVALID / "played" / "timeMillis-not-decimal.json").read_text()),
    ]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(items, indent=2))
    done = rooms_kit("validate", str(path))
    (line,) = _body(done.stdout)
    number = int(line.split(":")[1])
    assert '"timeMillis": "12a"' in path.read_text().splitlines()[number - 1]
    assert done.stdout.splitlines()[-1].startswith("2 documents, 1 invalid")


def test_directories_and_globs(rooms_kit: Run) -> None:
    assert rooms_kit("validate", "schemas/examples/valid").stdout.startswith("24 documents")
    assert rooms_kit("validate", "schemas/examples/valid/room*.json").stdout.startswith(
        "14 documents"
    )
    assert (
        rooms_kit("validate", "schemas/examples/invalid/**/wrong-kind.json")
        .stdout.splitlines()[-1]
        .startswith("24 documents, 24 invalid")
    )
    nothing = rooms_kit("validate", "schemas/examples/valid/zzz*.json")
    assert nothing.returncode == 2
    assert "pattern matches no file" in nothing.stderr


def test_standard_input_with_and_without_dash(rooms_kit: Run) -> None:
    data = (VALID / "room.json").read_bytes()
    assert rooms_kit("validate", stdin=data).returncode == 0
    assert rooms_kit("validate", "-", stdin=data).returncode == 0


@pytest.mark.parametrize("jobs", ["2", "0"])
@pytest.mark.parametrize("bad_every", [97, 1], ids=["few-invalid", "all-invalid"])
def test_jobs_give_the_same_report(
    rooms_kit: Run, tmp_path: Path, jobs: str, bad_every: int
) -> None:
    good, bad = (
        _compact(VALID / "room.json"),
        _compact(INVALID / "room" / "status-unknown-value.json"),
    )
    # With every line invalid but a run of valid ones in the middle, the checker switches from
    # the fast path to the precise engine and back; the report must not show it.
    lines = [bad if n % bad_every == 0 and not 1500 <= n < 1700 else good for n in range(3000)]
    path = tmp_path / "big.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    one = rooms_kit("validate", "--format", "json", str(path))
    many = rooms_kit("validate", "--format", "json", "--jobs", jobs, str(path))
    assert one.returncode == many.returncode == 1
    assert one.stdout.splitlines()[:-1] == many.stdout.splitlines()[:-1]
    assert len(one.stdout.splitlines()) - 1 == sum(line == bad for line in lines)


def test_jobs_must_not_be_negative(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "--jobs", "-1", "schemas/examples/valid/room.json")
    assert done.returncode == 2
    assert "must be 0 (one per core) or more, got -1" in done.stderr


def test_progress_only_when_asked_or_on_a_terminal(rooms_kit: Run, tmp_path: Path) -> None:
    line = _compact(VALID / "room.json")
    path = tmp_path / "progress.ndjson"
    path.write_bytes((line + b"\n") * (9 * 1024 * 1024 // len(line) + 1))
    assert rooms_kit("validate", str(path)).stderr == ""  # stderr is not a terminal here
    shown = rooms_kit("validate", "--progress", str(path))
    assert "documents," in shown.stderr and "%" in shown.stderr
    assert rooms_kit("validate", "--no-progress", str(path)).stderr == ""


def test_progress_appears_on_a_terminal(tmp_path: Path) -> None:
    import os  # noqa: PLC0415
    import pty  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    from tests.cli.conftest import ROOMS_KIT  # noqa: PLC0415

    line = _compact(VALID / "room.json")
    path = tmp_path / "progress.ndjson"
    path.write_bytes((line + b"\n") * (9 * 1024 * 1024 // len(line) + 1))
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [str(ROOMS_KIT), "validate", str(path)],
            stderr=terminal,
            stdout=subprocess.PIPE,
            check=False,
            timeout=300,
        )
        os.close(terminal)
        terminal = -1
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    assert done.returncode == 0
    assert b"documents," in seen and b"%" in seen


def test_broken_schemas_exit_two(rooms_kit: Run, tmp_path: Path) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(ROOTDIR / "schemas", copy)
    (copy / "played.schema.json").write_text(
        '{"type": "object", "properties": {"x": {"type": "int"}}}'
    )
    done = rooms_kit("validate", "schemas/examples/valid", env={"ROOMS_KIT_SCHEMAS": str(copy)})
    assert done.returncode == 2
    assert f"{copy / 'played.schema.json'}" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_documents_exit_statuses(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "--help")
    assert done.returncode == 0
    for text in (
        "0  every document is valid",
        "1  at least one document is invalid",
        "2  the tool could not",
    ):
        assert text in done.stdout


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_reader_that_stops_early_ends_the_run_quietly(tmp_path: Path, unbuffered: str) -> None:
    # ``rooms-kit validate big.ndjson | head -1``: the output is written in large pieces, so the
    # reader may leave with much of it unwritten; no traceback or complaint may follow.
    bad = json.dumps({"kind": "games#played", "timeMillis": 12, "autoMatched": "no"})
    path = tmp_path / "played.ndjson"
    path.write_text((bad + "\n") * 20_000)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    with subprocess.Popen(
        [str(ROOMS_KIT), "validate", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        errors = process.stderr.read()
        status = process.wait(timeout=120)
    assert first.startswith(f"{path}:1: games#played /autoMatched: [type]".encode())
    assert errors == b""
    assert status == 0


def test_jobs_are_bounded(rooms_kit: Run) -> None:
    done = rooms_kit("validate", "--jobs", "1000", "schemas/examples/valid/room.json")
    assert (done.returncode, done.stdout) == (2, "")
    assert "argument --jobs: must be at most 64, got 1000" in done.stderr
    assert rooms_kit("validate", "--jobs", "64", "schemas/examples/valid/room.json").returncode == 0


@pytest.mark.parametrize(
    ("option", "value", "complaint"),
    [
        ("--jobs", "\u0664", "'\u0664' is not a whole number"),  # Arabic-Indic four: int() took it
        ("--max-errors", "\u0664", "'\u0664' is not a whole number"),
        ("--max-errors", "1_0", "'1_0' is not a whole number"),
        ("--max-errors", " 5", "' 5' is not a whole number"),
        ("--max-errors", "9" * 20, f"must be 1 to 1000000, got {'9' * 20}"),
        ("--max-errors", "0", "must be 1 to 1000000, got 0"),
        ("--jobs", "9" * 200, f"'{'9' * 37}...' is not a whole number"),
    ],
)
def test_counts_are_ascii_digits_within_bounds(
    rooms_kit: Run, option: str, value: str, complaint: str
) -> None:
    done = rooms_kit("validate", option, value, "schemas/examples/valid/room.json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.endswith(f"argument {option}: {complaint}\n"), done.stderr


def test_max_bytes_is_bounded(rooms_kit: Run, tmp_path: Path) -> None:
    sparse = tmp_path / "sparse.json"
    with sparse.open("wb") as stream:
        stream.truncate(2 * 1024**3)  # takes no room on disk
    done = rooms_kit("validate", "--max-bytes", "99999999999999", str(sparse))
    assert (done.returncode, done.stdout) == (2, "")
    assert "argument --max-bytes: 99999999999999 is more than the largest allowed, 1G" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr


@pytest.mark.parametrize("kind", ["", " "])
def test_an_empty_kind_is_refused(rooms_kit: Run, kind: str) -> None:
    # it was taken as no --kind at all, so each document chose its own schema
    done = rooms_kit("validate", "--kind", kind, "schemas/examples/valid/room.json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.endswith(
        "argument --kind: an empty kind names no schema; leave --kind out to choose by each "
        "document's kind\n"
    )


def test_json_records_name_a_file_whose_name_is_not_utf8(rooms_kit: Run, tmp_path: Path) -> None:
    # orjson cannot write the byte Python keeps for 0xff: a traceback, no record, exit 1
    invalid = tmp_path / os.fsdecode(b"ok\xff.json")
    invalid.write_text('{"kind":"games#room","status":"x"}')
    missing = str(tmp_path / os.fsdecode(b"gone\xff.json"))
    done = rooms_kit("validate", "--format", "json", missing, str(invalid))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r.get("file"), r.get("keyword")) for r in records] == [
        (f"{tmp_path}/gone\\xff.json", "read"),
        (f"{tmp_path}/ok\\xff.json", "enum"),
        (None, None),  # the summary
    ]

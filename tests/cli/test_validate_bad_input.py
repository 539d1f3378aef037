"""Bad input never produces a traceback: each case gets a clear message and the right status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import ROOMS_KIT, ROOTDIR, Run

ROOM = (ROOTDIR / "schemas" / "examples" / "valid" / "room.json").read_bytes()


def _check(done: subprocess.CompletedProcess[str], status: int, *needles: str) -> None:
    assert done.returncode == status, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    for needle in needles:
        assert needle in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"", 1, ":1: (root): [json] not JSON: the input is empty"),
        (b"  \n\n", 1, "[json] not JSON: the input is empty"),
        (
            b'{"kind": "games#room", "roomId": "\xff\xfe"}',
            1,
            ":1: (root): [json] not JSON: invalid UTF-8 at line 1, column 35 (byte offset 34): "
            "0xff (invalid start byte)\n",
        ),
        (bytes(range(256)) * 4, 1, "[json] not JSON:"),
        (b'{"kind": "games#room", "roomId": "abc', 1, "[json] not JSON:"),
        (
            b'{"kind": "games#aggregateStats", "count": NaN}',
            1,
            "[json] not JSON: unexpected character, expected a JSON value (line 1, column 43)",
        ),
        (b'{"kind": "games#playerLevel", "level": Infinity}', 1, "[json] not JSON:"),
        (b"[" * 100_000 + b"]" * 100_000, 1, "[json] not JSON: depth limit exceeded"),
        (b"{" + b'"a":{' * 100_000 + b"}" * 100_001, 1, "[json] not JSON: depth limit exceeded"),
    ],
    ids=[
        "empty",
        "blank",
        "invalid-utf8",
        "binary",
        "truncated",
        "nan",
        "infinity",
        "deep-array",
        "deep-object",
    ],
)
def test_broken_documents(
    rooms_kit: Run, tmp_path: Path, content: bytes, status: int, message: str
) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    _check(rooms_kit("validate", str(path)), status, message)


def test_byte_order_mark_is_ignored_with_a_notice(rooms_kit: Run, tmp_path: Path) -> None:
    for name in ("bom.json", "bom.ndjson"):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + ROOM.replace(b"\n", b"") + b"\n")
        _check(
            rooms_kit("validate", str(path)),
            0,
            f"{path}: starts with a UTF-8 byte-order mark; ignored",
        )


def test_duplicate_keys_last_one_wins(rooms_kit: Run, tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_bytes(b'{"kind": "games#playerLevel", "level": "x", "level": 3}')
    _check(rooms_kit("validate", str(path)), 0)
    path.write_bytes(b'{"kind": "games#playerLevel", "level": 3, "level": "x"}')
    _check(rooms_kit("validate", str(path)), 1, "/level: [type]")
    assert "duplicate keys: the last occurrence" in rooms_kit("validate", "--help").stdout


def test_fifty_megabyte_string_is_shortened(rooms_kit: Run, tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(
        b'{"kind": "games#player", "displayName": 5, "title": "' + b"x" * 50_000_000 + b'"}'
    )
    done = rooms_kit("validate", str(path))
    _check(done, 1, "/displayName: [type] got integer 5")
    assert len(done.stdout) < 1000
    path.write_bytes(b'{"kind": "games#room", "status": "' + b"x" * 50_000_000 + b'"}')
    done = rooms_kit("validate", str(path))
    _check(done, 1, '/status: [enum] "xxxxxxxx')
    assert len(done.stdout) < 1000


def test_huge_single_line_is_skipped_with_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.ndjson"
    line = ROOM.replace(b"\n", b"")
    with path.open("wb") as out:
        out.write(line + b"\n")
        out.write(b'{"kind": "games#player", "title": "')
        chunk = b"y" * (1 << 20)
        for _ in range(300):
            out.write(chunk)
        out.write(b'"}\n')
        out.write(line + b"\n")
    # Run in a fresh interpreter so that the child's peak memory is measured alone.
    probe = (
        "import resource, subprocess, sys;"
        f"done = subprocess.run([{str(ROOMS_KIT)!r}, 'validate', {str(path)!r}], capture_output=True, text=True);"
        "print(done.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "print(done.stdout + done.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=600
    )
    status, peak_kib, report = out.stdout.split("\n", 2)
    assert status == "1"
    assert ":2: (root): [size] document is larger than 67108864 bytes and was skipped" in report
    assert report.strip().splitlines()[-1].startswith("3 documents, 1 invalid")
    assert int(peak_kib) < 200 * 1024, f"peak {int(peak_kib) // 1024} MiB for a 300 MiB line"


def test_large_whole_document_over_the_limit(rooms_kit: Run, tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(ROOM)
    _check(
        rooms_kit("validate", "--max-bytes", "100", str(path)),
        1,
        "[size] document is larger than 100 bytes",
    )


def test_memory_stays_flat_on_large_ndjson(tmp_path: Path) -> None:
    path = tmp_path / "many.ndjson"
    line = ROOM.replace(b"\n", b"") + b"\n"
    with path.open("wb") as out:
        out.write(line * (150 * 1024 * 1024 // len(line)))
    probe = (
        "import resource, subprocess;"
        f"done = subprocess.run([{str(ROOMS_KIT)!r}, 'validate', {str(path)!r}], capture_output=True);"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=600
    )
    status, peak_kib = out.stdout.split()
    assert status == "0"
    assert int(peak_kib) < 120 * 1024, f"peak {int(peak_kib) // 1024} MiB for a 150 MiB file"


def test_unreadable_paths_exit_two(rooms_kit: Run, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    _check(
        rooms_kit("validate", str(missing)), 2, f"{missing}: cannot read: No such file or directory"
    )
    link = tmp_path / "dangling.json"
    os.symlink(tmp_path / "nowhere", link)
    _check(rooms_kit("validate", str(link)), 2, "cannot read")
    corrupt = tmp_path / "corrupt.ndjson.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 10)
    _check(rooms_kit("validate", str(corrupt)), 2, f"{corrupt}: cannot read")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    _check(rooms_kit("validate", str(empty_dir)), 2, "directory holds no .json")


def test_a_file_whose_first_read_fails_is_unreadable(rooms_kit: Run) -> None:
    # /proc/self/mem opens, but reading at offset 0 fails (EIO): this was a traceback with exit 1
    good = ROOTDIR / "schemas" / "examples" / "valid" / "room.json"
    done = rooms_kit("validate", "/proc/self/mem", str(good))
    _check(
        done,
        2,
        "rooms-kit: error: /proc/self/mem: cannot read: Input/output error\n",
        "1 document, 0 invalid, 1 unreadable",
    )
    assert "Errno" not in done.stderr


def test_unreadable_file_does_not_stop_the_others(rooms_kit: Run, tmp_path: Path) -> None:
    good = ROOTDIR / "schemas" / "examples" / "valid" / "room.json"
    done = rooms_kit("validate", str(tmp_path / "missing.json"), str(good))
    _check(done, 2, "1 document, 0 invalid, 1 unreadable")


@pytest.mark.parametrize("levels", [200, 1_000, 1_023])
def test_deep_participants_are_a_depth_error(rooms_kit: Run, tmp_path: Path, levels: int) -> None:
    # One valid room, one whose participants nest `levels` deep, one valid room: the deep one is
    # reported on its own line as [depth] and the others are still checked.
    deep = (
        b'{"kind":"games#room","participants":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"
    )
    flat = ROOM.replace(b"\n", b"")
    path = tmp_path / "deep.ndjson"
    path.write_bytes(flat + b"\n" + deep + b"\n" + flat + b"\n")
    done = rooms_kit("validate", "--format", "json", str(path))
    _check(done, 1, '"keyword":"depth"', '"documents":3,"invalid":1')
    (error,) = [line for line in done.stdout.splitlines() if '"type":"error"' in line]
    assert '"line":2' in error
    assert '"pointer":"/participants/0' in error
    assert "nested deeper than 128 levels" in error


def test_deep_participants_in_pretty_json_point_at_their_line(
    rooms_kit: Run, tmp_path: Path
) -> None:
    levels = 400
    body = "\n".join(["{", '  "kind": "games#room",', '  "participants":'])
    body += "\n" + "[" * (levels - 1) + "\n" + "]" * (levels - 1) + "\n}\n"
    path = tmp_path / "deep.json"
    path.write_text(body)
    done = rooms_kit("validate", str(path))
    _check(done, 1, f"{path}:4: games#room /participants/0/0/", "[depth] nested deeper than 128")


# A .json file is one document; when its trailing content starts a later line and its first line
# alone is JSON, the syntax error says it looks like NDJSON. Catalogue: bytes -> the error line.
NDJSON_IN_JSON = {
    "two lines": (
        b'{"kind":"games#room"}\n{"kind":"games#room","status":"x"}\n',
        "2: (root): [json] not JSON: unexpected content after document (line 2, column 1); "
        "this looks like NDJSON: name it .ndjson or .jsonl",
    ),
    "a blank line between": (
        b'{"kind":"games#room"}\n\n{"kind":"games#room"}',
        "3: (root): [json] not JSON: unexpected content after document (line 3, column 1); "
        "this looks like NDJSON: name it .ndjson or .jsonl",
    ),
    "garbage on the same line": (
        b'{"kind":"games#room"} x\n',
        "1: (root): [json] not JSON: unexpected content after document (line 1, column 23)",
    ),
    "pretty JSON, then garbage": (
        b'{\n"kind":"games#room"\n}\nx\n',
        "4: (root): [json] not JSON: unexpected content after document (line 4, column 1)",
    ),
}


@pytest.mark.parametrize("case", sorted(NDJSON_IN_JSON))
@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_ndjson_named_json_gets_a_hint(
    rooms_kit: Run, tmp_path: Path, case: str, suffix: str
) -> None:
    import gzip  # noqa: PLC0415

    data, expected = NDJSON_IN_JSON[case]
    path = tmp_path / f"det2{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    done = rooms_kit("validate", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == f"{path}:{expected}"


def test_the_same_bytes_named_ndjson_are_read_line_by_line(rooms_kit: Run, tmp_path: Path) -> None:
    path = tmp_path / "det2.ndjson"
    path.write_bytes(NDJSON_IN_JSON["two lines"][0])
    done = rooms_kit("validate", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith(f"{path}:2: games#room /status: [enum]")

"""Reading inputs leaves no file open, compressed or not, read to the end or abandoned early."""

from __future__ import annotations

import builtins
import gzip
import types
from pathlib import Path
from typing import IO, Any

import pytest

from rooms_kit.validation import reading

LINES = b'{"kind": "games#room"}\n{"kind": "games#room"}\n'


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[IO[Any]]:
    """Every file the reader opens, to check afterwards that each one was closed."""
    files: list[IO[Any]] = []
    real_open = builtins.open

    def tracking_open(*args: Any, **kwargs: Any) -> IO[Any]:
        handle: IO[Any] = real_open(*args, **kwargs)
        files.append(handle)
        return handle

    monkeypatch.setattr(reading, "open", tracking_open, raising=False)
    return files


@pytest.mark.parametrize("name", ["dump.ndjson", "dump.ndjson.gz", "dump.data"])
@pytest.mark.parametrize("whole", [True, False])
def test_every_opened_file_is_closed(
    name: str, whole: bool, tmp_path: Path, opened: list[IO[Any]]
) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(LINES) if name != "dump.ndjson" else LINES)
    records = reading.read(str(path), notices=reading.Notices())
    if whole:
        assert len(list(records)) == 2
    else:
        assert isinstance(records, types.GeneratorType)
        next(records)
        records.close()  # the caller stops early, as --max-files or an interrupt would
    assert len(opened) == 1
    assert opened[0].closed

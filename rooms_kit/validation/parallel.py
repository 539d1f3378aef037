"""``--jobs N``: one large plain NDJSON file split into line-aligned byte ranges across processes.

Each worker checks its ranges and returns only the invalid documents plus how many lines and
documents it saw; the parent adds line and document offsets so that the output is identical to a
sequential run. Workers are forked, so they reuse the parent's compiled validators.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace

from rooms_kit.validation.reading import READ_BUFFER, LineCount, Notices, ndjson_records
from rooms_kit.validation.run import Checker, Result

CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int


@dataclass(frozen=True)
class ChunkOutcome:
    lines: int
    documents: int
    results: tuple[Result, ...]
    size: int


_CHECKER: Checker | None = None
_MAX_BYTES = 0


def chunks(path: str, jobs: int) -> list[Chunk]:
    size = os.path.getsize(path)
    count = max(jobs, size // CHUNK_BYTES)
    bounds = [0]
    with open(path, "rb") as stream:
        for k in range(1, count):
            target = size * k // count
            if target <= bounds[-1]:
                continue
            stream.seek(target - 1)
            stream.readline()  # move to the start of the next line
            position = stream.tell()
            if bounds[-1] < position < size:
                bounds.append(position)
    bounds.append(size)
    return [Chunk(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _check_chunk(path: str, chunk: Chunk) -> ChunkOutcome:
    assert _CHECKER is not None
    results: list[Result] = []
    count = LineCount()
    notices = Notices() if chunk.start == 0 else None  # only the first piece can start with a BOM
    with open(path, "rb", buffering=READ_BUFFER) as stream:
        stream.seek(chunk.start)
        size = chunk.end - chunk.start
        for record in ndjson_records(
            path,
            stream,
            _MAX_BYTES,
            notices,
            budget=size,
            count=count,
            accept=_CHECKER.quick,
            start=chunk.start,
        ):
            outcome = _CHECKER.check(record)
            if outcome is not None:
                results.append(outcome)
    return ChunkOutcome(count.lines, count.documents, tuple(results), chunk.end - chunk.start)


def check_file(path: str, checker: Checker, *, jobs: int, max_bytes: int) -> Iterator[ChunkOutcome]:
    """Check one NDJSON file with ``jobs`` processes; outcomes come back in file order.

    A generator: each piece's outcome is handed on as soon as it and those before it are done,
    so the parent never holds the results of the whole file at once.
    """
    global _CHECKER, _MAX_BYTES
    _CHECKER, _MAX_BYTES = checker, max_bytes
    parts = chunks(path, jobs)
    context = multiprocessing.get_context("fork")
    line_offset = document_offset = 0
    remaining = iter(parts)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        # At most two pieces per worker are in flight, so finished pieces waiting for an earlier
        # one cannot pile up in the parent.
        pending: deque[Future[ChunkOutcome]] = deque(
            pool.submit(_check_chunk, path, part) for part in itertools.islice(remaining, 2 * jobs)
        )
        while pending:
            outcome = pending.popleft().result()
            following = next(remaining, None)
            if following is not None:
                pending.append(pool.submit(_check_chunk, path, following))
            results = tuple(
                replace(
                    r,
                    index=r.index + document_offset,
                    line=r.line + line_offset,
                    issues=tuple(
                        i if i.line is None else i.at_line(i.line + line_offset) for i in r.issues
                    ),
                )
                for r in outcome.results
            )
            yield replace(outcome, results=results)
            line_offset += outcome.lines
            document_offset += outcome.documents

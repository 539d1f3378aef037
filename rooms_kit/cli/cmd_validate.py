"""``rooms-kit validate``: check games# documents against the schemas."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from rooms_kit.cli.arguments import byte_size, whole_number
from rooms_kit.cli.main import EXIT_CANNOT_RUN, EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from rooms_kit.validation import Validators
    from rooms_kit.validation.reading import Notices
    from rooms_kit.validation.report import Report
    from rooms_kit.validation.run import Checker, Totals

DESCRIPTION = """\
Validate games# documents: JSON files, JSON arrays of documents, NDJSON / JSON Lines (.ndjson,
.jsonl, or detected), each optionally gzip-compressed (.gz). Directories and glob patterns expand
to the files in them; no PATH or '-' reads standard input. The schema is chosen by each document's
kind unless --kind forces one. A recording of rooms-kit proxy is recognised by its first line,
whatever the file's name (a .json one is then read line by line, with a notice): every request and
answer body in it is checked against its operation's kind, so --kind does not apply to it (a notice
on standard error names the file).
"""

EPILOG = """\
exit status:
  0  every document is valid
  1  at least one document is invalid or is not JSON
  2  the tool could not do its job: bad usage, broken schemas, or an unreadable or missing file,
     a folder or a glob pattern naming no file (each reported; the other paths are still checked)

duplicate keys: the last occurrence of a key wins, as in most JSON parsers; no error is raised.
a UTF-8 byte-order mark at the start of a file is ignored with a notice on standard error.
invalid UTF-8 makes a document invalid (JSON is UTF-8), reported with the line and column (in
characters) of the first bad byte in its file and its byte offset from the start of the file:
  [json] not JSON: invalid UTF-8 at line 3, column 23 (byte offset 94): 0xff (invalid start byte)
integers beyond 64 bits are read exactly; one of more than 4300 digits is an error of its own.
a proxy recording is read line by line even when named .json, and --kind does not apply to it:
its bodies are checked by their operation; a notice on standard error names the file in each case.
suffixes are read in any case (A.JSON is a .json file, B.NDJSON.GZ a compressed .ndjson one),
in a folder as when given directly; a glob pattern compares names as the shell does.
each file (and standard input: '-', /dev/stdin) is read once, however many paths or patterns
reach it; '**' enters a linked folder once.
an unreadable path is also a record with --format json (keyword "read") and an ::error with github.
"""


MAX_JOBS = 64
# A document up to --max-bytes is read whole into memory: the bound itself is bounded.
MAX_DOCUMENT_BYTES = 1024**3


MAX_ERRORS = 1_000_000
"""Most --max-errors: far more than a document of the largest size could hold."""


def _positive(text: str) -> int:
    value = whole_number(text)
    if not 1 <= value <= MAX_ERRORS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_ERRORS}, got {value}")
    return value


_max_bytes = byte_size(MAX_DOCUMENT_BYTES)


def _kind(text: str) -> str:
    """``--kind``: an empty value (``--kind "$UNSET"``) would quietly choose by each document."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty kind names no schema; leave --kind out to choose by each document's kind"
        )
    return text


def _jobs(text: str) -> int:
    """``--jobs``: a whole number of processes, 0 meaning one per core this process may use."""
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one per core) or more, got {value}")
    if value > MAX_JOBS:  # each process holds the schemas (about 30 MB): 1,000 would exhaust memory
        raise argparse.ArgumentTypeError(f"must be at most {MAX_JOBS}, got {value}")
    return value or usable_cores()


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate games# documents (JSON, JSON arrays, NDJSON, gzip)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files, folders, globs or '-'")
    parser.add_argument(
        "--kind",
        type=_kind,
        help="validate every document as this kind (room or games#room); a proxy recording's bodies "
        "keep their operation's kinds",
    )
    parser.add_argument(
        "--strict", action="store_true", help="treat properties the schema does not list as errors"
    )
    parser.add_argument(
        "--max-errors",
        type=_positive,
        default=10,
        metavar="N",
        help="errors shown per document (10)",
    )
    parser.add_argument(
        "--format", choices=("text", "json", "github"), default="text", help="output format (text)"
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="processes for large NDJSON files; 0 means one per core (1)",
    )
    parser.add_argument(
        "--max-bytes",
        type=_max_bytes,
        default=64 * 1024 * 1024,
        metavar="SIZE",
        help="skip and report documents (or NDJSON lines) larger than this, in bytes or with K, "
        "M or G (64M; at most 1G)",
    )
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always show progress",
    )
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show progress"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rooms_kit.validation import Validators  # noqa: PLC0415 - keep --help fast
    from rooms_kit.validation.reading import Notices, expand  # noqa: PLC0415
    from rooms_kit.validation.report import REPORTS  # noqa: PLC0415
    from rooms_kit.validation.run import Checker, Totals  # noqa: PLC0415

    started = time.perf_counter()
    validators = Validators.load(strict=args.strict)
    checker = Checker(validators, kind=args.kind, max_errors=args.max_errors)
    paths = expand(args.paths)
    report = REPORTS[args.format](sys.stdout)
    totals = Totals()
    notices = Notices()
    try:
        try:
            failed_to_read = _check_paths(args, paths, validators, checker, report, totals, notices)
        finally:
            report.flush()  # whatever stopped the run, the lines found so far are written
        for message in notices.messages:
            print(f"rooms-kit: notice: {message}", file=sys.stderr)
        report.summary(totals, time.perf_counter() - started)
    except BrokenPipeError:
        # The reader has gone (``| head``): what is still buffered can never be written, so
        # standard output now leads nowhere, and Python's own flush at exit stays quiet.
        nowhere = os.open(os.devnull, os.O_WRONLY)
        os.dup2(nowhere, sys.stdout.fileno())
        os.close(nowhere)
        raise
    if failed_to_read:
        return EXIT_CANNOT_RUN
    return EXIT_FAILED if totals.invalid else EXIT_OK


def _check_paths(
    args: argparse.Namespace,
    paths: list[str],
    validators: Validators,
    checker: Checker,
    report: Report,
    totals: Totals,
    notices: Notices,
) -> bool:
    """Check every path, reporting as it goes; True if one of them could not be read."""
    from rooms_kit.traffic.reading import check_recording, looks_like_recording  # noqa: PLC0415
    from rooms_kit.validation.reading import (  # noqa: PLC0415
        STDIN_NAMES,
        InputError,
        can_split,
        read,
    )

    failed_to_read = False
    for path in paths:
        report.follow(path == "-")  # standard input may be a live stream: no waiting lines
        progress = _progress(args, path)
        try:
            if path in STDIN_NAMES and sys.stdin is None:  # standard input closed (<&-)
                name = "<stdin>" if path == "-" else path
                raise InputError(f"{name}: cannot read: standard input is closed")
            if looks_like_recording(path):  # a rooms-kit proxy recording: check its bodies
                _recording_notices(args, path, notices)
                for found in check_recording(path, validators, max_errors=args.max_errors):
                    totals.documents += 1
                    if found is not None:
                        totals.invalid += 1
                        report.result(found)
                continue
            if args.jobs > 1 and can_split(path) and _looks_like_ndjson(path):
                from rooms_kit.validation.parallel import check_file  # noqa: PLC0415

                for outcome in check_file(path, checker, jobs=args.jobs, max_bytes=args.max_bytes):
                    totals.documents += outcome.documents
                    totals.invalid += len(outcome.results)
                    for result in outcome.results:
                        report.result(result)
                    progress.advance(outcome.documents, outcome.size)
                continue
            # Without a progress line to feed, valid NDJSON lines never become records.
            quick = None if progress.enabled else checker.quick
            accepted = checker.accepted
            for record in read(path, max_bytes=args.max_bytes, notices=notices, accept=quick):
                totals.documents += 1
                found = checker.check(record)
                if found is not None:
                    totals.invalid += 1
                    report.result(found)
                progress.advance(1, len(record.raw) if record.raw is not None else 0)
            totals.documents += checker.accepted - accepted
        except InputError as exc:
            failed_to_read = True
            totals.unreadable += 1
            name = "<stdin>" if path == "-" else path
            report.unreadable(name, str(exc).removeprefix(f"{name}: "))  # json, github: a record
            report.flush()  # the lines before the problem come before its message
            print(f"rooms-kit: error: {exc}", file=sys.stderr)
        finally:
            progress.close()
    return failed_to_read


def _recording_notices(args: argparse.Namespace, path: str, notices: Notices) -> None:
    """Say where a recording is read otherwise than the options or its name would suggest."""
    from rooms_kit.validation.reading import plain_name  # noqa: PLC0415

    if args.kind is not None:
        notices.messages.append(
            f"{path}: --kind does not apply to a proxy recording, whose bodies are checked by "
            "their operation"
        )
    if plain_name(path).endswith(".json"):
        notices.messages.append(
            f"{path}: read as a proxy recording, line by line (its first line is a recording "
            "line), not as one .json document"
        )


def _progress(args: argparse.Namespace, path: str) -> Any:
    """The progress line for one path: on a terminal (or --progress) for inputs of 8 MiB or more."""
    from rooms_kit.validation.progress import MIN_BYTES, Progress  # noqa: PLC0415

    size = os.path.getsize(path) if path != "-" and os.path.isfile(path) else None
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    return Progress(
        sys.stderr, enabled=bool(show) and (size or MIN_BYTES) >= MIN_BYTES, total_bytes=size
    )


def _looks_like_ndjson(path: str) -> bool:
    from rooms_kit.validation.reading import is_ndjson  # noqa: PLC0415

    with open(path, "rb") as stream:
        return is_ndjson(path, stream, 1 << 20)

"""Tables shared by the text and HTML reports: checks down and operations across; latency per
operation (milliseconds, nearest-rank percentiles) with the slowest request of each."""

from __future__ import annotations

from rooms_kit.contract.results import Results, RootCause

OPERATION_PREFIX = "games.rooms."


def short(operation: str) -> str:
    return operation.removeprefix(OPERATION_PREFIX)


def text_table(header: list[str], body: list[list[str]]) -> list[str]:
    """Columns padded to their widest value, with a rule of dashes under the header."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip()
        for row in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def cell(results: Results, operation: str, check: str) -> str:
    """``12`` passes, ``✗3/12`` three failures of twelve, ``·`` nothing checked."""
    passed = results.passed[(operation, check)]
    failed = results.failed[(operation, check)]
    if failed:
        return f"✗{failed}/{passed + failed}"
    return str(passed) if passed else "·"


def rows(results: Results) -> tuple[list[str], list[list[str]]]:
    """Header (``check`` then the operations) and one row per check."""
    operations = results.operations()
    header = ["check", *(short(op) for op in operations)]
    body = [[check, *(cell(results, op, check) for op in operations)] for check in results.checks()]
    return header, body


LATENCY_HEADER = ["operation", "requests", "p50 ms", "p90 ms", "p99 ms", "slowest ms"]


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending list (not empty)."""
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def latency_rows(results: Results) -> list[list[str]]:
    """One row per operation: requests, p50, p90, p99 and the slowest, in milliseconds."""
    found = []
    for operation in sorted(results.latency):
        ordered = sorted(results.latency[operation])
        found.append(
            [
                short(operation),
                str(len(ordered)),
                *(f"{percentile(ordered, q) * 1000:.0f}" for q in (0.5, 0.9, 0.99)),
                f"{ordered[-1] * 1000:.0f}",
            ]
        )
    return found


def slowest_requests(results: Results) -> list[tuple[str, str]]:
    """Per operation, the slowest request (label with its time) and its curl command."""
    return [
        (f"{short(operation)} ({seconds * 1000:.0f} ms)", curl)
        for operation, (seconds, curl) in sorted(results.slowest.items())
    ]


def verdict(results: Results) -> str:
    """The last line of a report: conformant, not conformant, or (when no check was made) that
    the run cannot judge the server at all; a deadline reached before the first check says
    nothing about the server, so it is never counted against it here."""
    if results.nothing_checked:
        if results.cut_short and results.max_time is not None:
            why = f"before the run's deadline of {results.max_time:g} s"
        else:
            why = "in this run"
        return (
            f"NO VERDICT: nothing was checked {why}, so this run cannot say whether the server "
            "conforms"
        )
    if results.ok:
        return f"CONFORMANT: {results.checked} checks passed, no failures"
    causes = len(results.root_causes())
    names = ", ".join(sorted(results.failed_checks))
    return (
        f"NOT CONFORMANT: {causes} root cause(s) behind {len(results.failures)} distinct "
        f"failure(s) in {names}"
    )


def cause_details(cause: RootCause) -> list[str]:
    """What a root cause report says under its title: who saw it, where, and one repro."""
    lines = [cause.detail] if cause.detail else []
    lines += [
        f"seen by: {', '.join(cause.checks)} ({cause.occurrences} time(s))",
        f"operations: {', '.join(short(op) for op in cause.operations)}",
    ]
    if cause.fields:
        lines.append(f"fields: {', '.join(cause.fields[:10])}")
    exchange = cause.exchange
    if exchange is not None:
        lines.append(f"reproduce: {exchange.curl()}")
    return lines

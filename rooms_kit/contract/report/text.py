"""The plain-text report printed at the end of a run."""

from __future__ import annotations

from rooms_kit.contract.report.table import (
    LATENCY_HEADER,
    latency_rows,
    rows,
    short,
    slowest_requests,
)
from rooms_kit.contract.results import Results


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip()
        for row in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def render_text(results: Results) -> str:
    lines = [
        f"contract suite against {results.target}",
        f"profile {results.profile}, seed {results.seed} (rerun with --seed {results.seed})",
        "",
        *_table(*rows(results)),
        "",
    ]
    for index, record in enumerate(results.failures, 1):
        times = f" ({record.occurrences} times)" if record.occurrences > 1 else ""
        lines.append(
            f"FAILURE {index}: [{record.check}] {short(record.operation)}: {record.title}{times}"
        )
        if record.message:
            lines.append(f"  {record.message}")
        lines.append(f"  found by: {record.unit}")
        if record.exchange is not None:
            lines += ["  " + line for line in record.exchange.describe().splitlines()]
        lines.append("")
    latency = latency_rows(results)
    if latency:
        lines += ["latency per operation", *_table(LATENCY_HEADER, latency), ""]
        lines.append("slowest request per operation:")
        lines += [f"  {label}: {curl}" for label, curl in slowest_requests(results)]
        lines.append("")
    checked = results.checked
    if results.uncounted:
        lines.append(f"({results.uncounted} further distinct failure(s) were counted, not kept)")
    if results.ok:
        lines.append(f"CONFORMANT: {checked} checks passed, no failures")
    else:
        names = ", ".join(sorted(results.failed_checks))
        lines.append(f"NOT CONFORMANT: {len(results.failures)} distinct failure(s) in {names}")
    return "\n".join(lines) + "\n"

"""The plain-text report printed at the end of a run."""

from __future__ import annotations

from rooms_kit.contract.report.table import (
    LATENCY_HEADER,
    cause_details,
    latency_rows,
    rows,
    short,
    slowest_requests,
    text_table,
    verdict,
)
from rooms_kit.contract.results import Results
from rooms_kit.contract.secrets import NOTE

# On a terminal a slowest request's curl command is cut here (a fuzzed body runs to many KiB).
CONSOLE_COMMAND_CHARS = 300


def render_text(results: Results, *, whole_commands_in: str | None = None) -> str:
    """The report; with ``whole_commands_in`` (the console's copy), a long curl command is cut
    and the line says where the whole one was written (or how to keep it). No token is shown:
    the whole text goes through ``results.secrets.scrub`` (a server may echo one back)."""
    lines = [
        f"contract suite against {results.target}",
        f"profile {results.profile}, seed {results.seed} (rerun with --seed {results.seed})",
        NOTE,
        "",
    ]
    # A verdict against the server and its root causes come first; when nothing was checked
    # there is neither, and the no-verdict line is said once, at the end.
    if not results.ok and not results.nothing_checked:
        lines += [verdict(results), ""]
        for index, cause in enumerate(results.root_causes(), 1):
            lines.append(f"ROOT CAUSE {index}: {cause.title}")
            lines += [f"  {line}" for line in cause_details(cause)]
            lines.append("")
    lines += [*text_table(*rows(results)), ""]
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
        lines += ["latency per operation", *text_table(LATENCY_HEADER, latency), ""]
        lines.append("slowest request per operation:")
        lines += [
            f"  {label}: {_command(curl, whole_commands_in)}"
            for label, curl in slowest_requests(results)
        ]
        lines.append("")
    if results.uncounted:
        lines.append(f"({results.uncounted} further distinct failure(s) were counted, not kept)")
    lines.append(verdict(results))
    return results.secrets.scrub("\n".join(lines) + "\n")


def _command(curl: str, whole_in: str | None) -> str:
    if whole_in is None or len(curl) <= CONSOLE_COMMAND_CHARS:
        return curl
    return (
        f"{curl[:CONSOLE_COMMAND_CHARS]}… (cut at {CONSOLE_COMMAND_CHARS} of {len(curl):,} "
        f"characters; {whole_in})"
    )

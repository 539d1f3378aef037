"""A self-contained HTML report: no scripts, no external style sheets or fonts."""

from __future__ import annotations

from html import escape

from rooms_kit.contract.report.table import (
    LATENCY_HEADER,
    cause_details,
    latency_rows,
    rows,
    short,
    slowest_requests,
    verdict,
)
from rooms_kit.contract.results import Results
from rooms_kit.contract.secrets import NOTE, placeholder

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1b1b1b; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.fail { background: #fde2e1; font-weight: bold; }
td.pass { background: #e6f4ea; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; white-space: pre-wrap; }
.verdict-ok { color: #137333; } .verdict-bad { color: #b3261e; } .verdict-none { color: #5f6368; }
"""


def _cell(value: str, first: bool) -> str:
    if first:
        return f"<td>{escape(value)}</td>"
    kind = "fail" if value.startswith("✗") else "pass" if value != "·" else ""
    return f'<td class="{kind}">{escape(value)}</td>'


def render_html(results: Results) -> str:
    """The report as HTML; the whole page goes through ``results.secrets.scrub`` (no token)."""
    return results.secrets.scrub(_html(results), lambda number: escape(placeholder(number)))


def _html(results: Results) -> str:
    header, body = rows(results)
    table = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"]
    for row in body:
        table.append("<tr>" + "".join(_cell(v, i == 0) for i, v in enumerate(row)) + "</tr>")
    table.append("</table>")
    if results.nothing_checked:
        kind = "verdict-none"
    else:
        kind = "verdict-ok" if results.ok else "verdict-bad"
    heading = [f'<h2 class="{kind}">{escape(verdict(results))}</h2>']
    causes = [] if results.nothing_checked else results.root_causes()
    for index, cause in enumerate(causes, 1):
        heading.append(f"<h3>Root cause {index}: {escape(cause.title)}</h3>")
        heading.append("<pre>" + escape("\n".join(cause_details(cause))) + "</pre>")
    failures: list[str] = []
    for index, record in enumerate(results.failures, 1):
        times = f" ({record.occurrences} times)" if record.occurrences > 1 else ""
        failures.append(
            f"<h3>{index}. [{escape(record.check)}] {escape(short(record.operation))}: "
            f"{escape(record.title)}{escape(times)}</h3>"
        )
        if record.message:
            failures.append(f"<p>{escape(record.message)}</p>")
        failures.append(f"<p>found by: {escape(record.unit)}</p>")
        if record.exchange is not None:
            failures.append(f"<pre>{escape(record.exchange.describe())}</pre>")
    latency: list[str] = []
    if results.latency:
        latency.append("<h2>Latency per operation</h2><table>")
        latency.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in LATENCY_HEADER) + "</tr>")
        for row in latency_rows(results):
            latency.append("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>")
        latency.append("</table><h3>Slowest request per operation</h3>")
        for label, curl in slowest_requests(results):
            latency.append(f"<p>{escape(label)}</p><pre>{escape(curl)}</pre>")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>rooms-kit contract report</title>",
            f"<style>{STYLE}</style></head><body>",
            "<h1>rooms-kit contract report</h1>",
            f"<p>target {escape(results.target)} · profile {escape(results.profile)} · "
            f"seed {results.seed}</p>",
            f"<p>{escape(NOTE)}</p>",
            *heading,
            *table,
            *failures,
            *latency,
            "</body></html>",
            "",
        ]
    )

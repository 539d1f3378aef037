"""Reports of a proxy session: plain text, JUnit XML and a self-contained HTML page.

The summary table (checks down, operations across) is the contract suite's; units are the
operations (per-exchange checks) and the lifecycle rules, each failure shown once with how often
it recurred and the first exchange that showed it (credentials as aliases).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

from rooms_kit.contract.registry import CHECKS
from rooms_kit.contract.report.junit import add_failure
from rooms_kit.contract.report.table import rows, short, text_table
from rooms_kit.contract.report.xml_text import xml_document
from rooms_kit.contract.results import Results
from rooms_kit.errors import KitError
from rooms_kit.traffic.aliases import Aliases
from rooms_kit.traffic.monitor import EXCHANGES, LIFECYCLE


def verdict(results: Results, exchanges: int) -> str:
    if results.ok:
        return f"NO VIOLATION: {exchanges} exchange(s) seen"
    names = ", ".join(sorted(results.failed_checks))
    count = sum(results.failed.values())
    return (
        f"VIOLATIONS: {count} in {exchanges} exchange(s), "
        f"{len(results.failures)} distinct, in {names}"
    )


def render_text(results: Results, exchanges: int) -> str:
    lines = [f"rooms-kit proxy in front of {results.target}", ""]
    if results.operations():
        lines += [*text_table(*rows(results)), ""]
    for index, record in enumerate(results.failures, 1):
        times = f" ({record.occurrences} times)" if record.occurrences > 1 else ""
        lines.append(
            f"VIOLATION {index}: [{record.check}] {short(record.operation)}: {record.title}{times}"
        )
        if record.message:
            lines.append(f"  {record.message}")
        if record.exchange is not None:
            lines += ["  " + line for line in record.exchange.describe().splitlines()]
        lines.append("")
    lines.append(verdict(results, exchanges))
    return "\n".join(lines) + "\n"


def render_junit(results: Results) -> str:
    """One testcase per check or rule and operation that traffic exercised: passed, or failed
    with each distinct failure (so a CI tool shows what was checked, not only what broke)."""
    root = ET.Element("testsuites", name="rooms-kit proxy")
    cases: dict[str, list[tuple[str, str]]] = {EXCHANGES: [], LIFECYCLE: []}
    for operation, check in sorted({*results.passed, *results.failed}):
        cases[_phase(check)].append((operation, check))
    for phase, members in cases.items():
        if not members:
            continue
        failing = sum(1 for key in members if results.failed[key])
        suite = ET.SubElement(
            root,
            "testsuite",
            name=phase,
            tests=str(len(members)),
            failures=str(failing),
            errors="0",
        )
        for operation, check in members:
            case = ET.SubElement(
                suite, "testcase", classname=f"proxy.{phase}.{short(operation)}", name=check
            )
            passed, failed = results.passed[(operation, check)], results.failed[(operation, check)]
            out = ET.SubElement(case, "system-out")
            out.text = f"{passed + failed} exchange(s) judged, {failed} violation(s)"
            for record in results.failures:
                if (record.operation, record.check) != (operation, check):
                    continue
                add_failure(case, record)
    return xml_document(root)


def _phase(check: str) -> str:
    """Per-exchange checks (on one answer) apart from the rules over the traffic."""
    info = CHECKS.get(check)
    return EXCHANGES if info is None or info.kind in {"response", "transport"} else LIFECYCLE


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1b1b1b; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; white-space: pre-wrap; }
"""


def render_html(results: Results, exchanges: int) -> str:
    header, body = rows(results)
    parts = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"]
    parts += ["<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in body]
    parts.append("</table>")
    for index, record in enumerate(results.failures, 1):
        times = f" ({record.occurrences} times)" if record.occurrences > 1 else ""
        parts.append(
            f"<h3>{index}. [{escape(record.check)}] {escape(short(record.operation))}: "
            f"{escape(record.title)}{escape(times)}</h3>"
        )
        if record.message:
            parts.append(f"<p>{escape(record.message)}</p>")
        if record.exchange is not None:
            parts.append(f"<pre>{escape(record.exchange.describe())}</pre>")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>rooms-kit proxy report</title>",
            f"<style>{STYLE}</style></head><body>",
            f"<h1>rooms-kit proxy in front of {escape(results.target)}</h1>",
            f"<h2>{escape(verdict(results, exchanges))}</h2>",
            *parts,
            "</body></html>",
            "",
        ]
    )


def write_reports(folder: Path, results: Results, exchanges: int, aliases: Aliases) -> None:
    """report.txt, junit.xml and report.html in ``folder`` (created when missing)."""
    texts = {
        "report.txt": render_text(results, exchanges),
        "junit.xml": render_junit(results),
        "report.html": render_html(results, exchanges),
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (folder / name).write_text(aliases.scrub(text), encoding="utf-8")
    except OSError as exc:
        raise KitError(f"cannot write the reports to {folder}: {exc.strerror}") from None

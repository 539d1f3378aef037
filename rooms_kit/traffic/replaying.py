"""``rooms-kit replay`` end to end: check the aliases, send every exchange, print and report.

Each difference is printed as it is found, in the line format of ``rooms-kit validate``
(``FILE:LINE: operation METHOD path: [difference] what``); the text report shows both bodies side
by side, the JUnit report one test case per replayed exchange.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from rooms_kit.contract.openapi import OpenApi
from rooms_kit.errors import KitError
from rooms_kit.traffic.aliases import ANONYMOUS
from rooms_kit.traffic.checking import Limits
from rooms_kit.traffic.operations import Router
from rooms_kit.traffic.replay import MAX_DIFFERENCES, Difference, Replayer, Unreachable, steps

COLUMN = 60
ELIDED = f"(body not kept after the first {MAX_DIFFERENCES} differences)"


def parse_tokens(pairs: list[str]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for number, pair in enumerate(pairs, 1):
        alias, sep, token = pair.partition("=")
        if not sep or not alias or not token:  # never echo it: it may be a bare token
            raise KitError(f"--token number {number} is not of the form ALIAS=TOKEN")
        tokens[alias] = token
    return tokens


def aliases_in(paths: list[str], router: Router) -> list[str]:
    seen: dict[str, None] = {}
    for step in steps(paths, router):
        player = str(step.line.get("player", ANONYMOUS))
        if player != ANONYMOUS:
            seen.setdefault(player, None)
    return list(seen)


def side_by_side(left: Any, right: Any) -> list[str]:
    def lines(value: Any) -> list[str]:
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        return [
            part[i : i + COLUMN]
            for part in text.splitlines() or [""]
            for i in range(0, max(len(part), 1), COLUMN)
        ]

    a, b = lines(left), lines(right)
    rows = [f"{'recorded':<{COLUMN}} | now"]
    rows += [
        f"{a[i] if i < len(a) else '':<{COLUMN}} | {b[i] if i < len(b) else ''}".rstrip()
        for i in range(max(len(a), len(b)))
    ]
    return rows


def line_of(difference: Difference) -> str:
    operation = difference.operation.removeprefix("games.rooms.")
    return f"{difference.where}: {operation} {difference.request}: [difference] {difference.what}"


def render_text(url: str, sent: int, differences: list[Difference]) -> str:
    out = [f"rooms-kit replay against {url}", ""]
    for index, difference in enumerate(differences, 1):
        out.append(f"DIFFERENCE {index}: {line_of(difference)}")
        out.append(
            f"  status {difference.recorded_status} recorded, {difference.replayed_status} now"
        )
        out += ["  " + row for row in side_by_side(difference.recorded, difference.replayed)]
        out.append("")
    out.append(summary(sent, differences))
    return "\n".join(out) + "\n"


def summary(sent: int, differences: list[Difference]) -> str:
    if not differences:
        return f"SAME: {sent} exchange(s) replayed, no difference"
    return f"DIFFERENT: {len(differences)} of {sent} exchange(s) answered differently"


def render_junit(cases: list[tuple[str, str, Difference | None]]) -> str:
    root = ET.Element("testsuites", name="rooms-kit replay")
    failures = sum(1 for case in cases if case[2] is not None)
    suite = ET.SubElement(
        root, "testsuite", name="replay", tests=str(len(cases)), failures=str(failures)
    )
    for where, name, difference in cases:
        case = ET.SubElement(suite, "testcase", classname="replay", name=f"{where} {name}")
        if difference is not None:
            failure = ET.SubElement(case, "failure", message=difference.what, type="difference")
            failure.text = "\n".join(side_by_side(difference.recorded, difference.replayed))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def run_replay(
    paths: list[str],
    url: str,
    tokens: dict[str, str],
    *,
    report_dir: Path | None = None,
    limits: Limits | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """0 when every answer matches the recording, 1 on a difference; ``KitError`` (exit 2) when
    the server cannot be reached before anything answered."""
    router = Router(OpenApi.load())
    missing = [alias for alias in aliases_in(paths, router) if alias not in tokens]
    if missing:
        raise KitError(
            "the recording has players without a token: "
            + ", ".join(missing)
            + " (give --token ALIAS=TOKEN for each)"
        )
    replayer = Replayer(url, tokens, router, limits=limits)
    differences: list[Difference] = []
    cases: list[tuple[str, str, Difference | None]] = []
    try:
        for step in steps(paths, router):
            try:
                difference = replayer.send(step)
            except Unreachable as exc:
                raise KitError(
                    f"cannot reach {exc} (nothing answered, nothing was compared)"
                ) from None
            cases.append((step.where, str(step.line.get("operation")), difference))
            if difference is not None:
                if len(differences) >= MAX_DIFFERENCES:  # memory stays bounded however long
                    difference = replace(difference, recorded=ELIDED, replayed=ELIDED)
                differences.append(difference)
                out.write(line_of(difference) + "\n")
                out.flush()
    finally:
        replayer.close()
    out.write(summary(replayer.sent, differences) + "\n")
    if report_dir is not None:
        try:
            report_dir.mkdir(parents=True, exist_ok=True)
            text = render_text(url, replayer.sent, differences)
            (report_dir / "report.txt").write_text(text, encoding="utf-8")
            (report_dir / "junit.xml").write_text(render_junit(cases), encoding="utf-8")
        except OSError as exc:
            raise KitError(f"cannot write the reports to {report_dir}: {exc.strerror}") from None
    return 1 if differences else 0

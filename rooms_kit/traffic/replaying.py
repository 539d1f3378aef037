"""``rooms-kit replay`` end to end: check the aliases, send every exchange, print and report.

Each difference is printed as it is found, in the line format of ``rooms-kit validate``
(``FILE:LINE: operation METHOD path: [difference] what``); the text report shows both bodies side
by side, the JUnit report one test case per replayed exchange.

The real tokens given with ``--token`` never reach any of it: every text replay prints or writes
(standard output, standard error, the reports, an error's message) passes through one
``Secrets``, which writes each token of four characters or more as its alias (in every form the
contract suite's ``Secrets`` knows, and %-escaped in any of its characters), and each difference's bodies are scrubbed before they are rendered (so that a
server echoing a token, in a nextPageToken say, is shown as echoing the alias).
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from rooms_kit.contract.openapi import OpenApi
from rooms_kit.contract.report.xml_text import xml_document
from rooms_kit.contract.secrets import Secrets as Tokens
from rooms_kit.errors import KitError
from rooms_kit.traffic.aliases import ANONYMOUS, is_alias, replace_tokens
from rooms_kit.traffic.checking import Limits
from rooms_kit.traffic.operations import Router
from rooms_kit.traffic.reading import read_lines
from rooms_kit.traffic.recording import in_rotation_order
from rooms_kit.traffic.replay import (
    MAX_DIFFERENCES,
    Difference,
    Replayer,
    Unreachable,
    api_route,
    query_aliases,
    steps,
)

COLUMN = 60
ELIDED = f"(body not kept after the first {MAX_DIFFERENCES} differences)"


def not_a_pair(pair: str, number: int) -> str | None:
    """Why the ``number``-th ``--token`` is not ``ALIAS=TOKEN`` with an alias the proxy writes
    (``player-N``, ``player-overflow``, ``oversized-token``), or None. The value is never
    echoed: ``dGVzdA==`` is a bare token, not the alias ``dGVzdA``, and neither is ``TOKEN=x``."""
    alias, sep, token = pair.partition("=")
    if not sep or not token or not is_alias(alias):
        return (
            f"number {number} is not of the form ALIAS=TOKEN, where ALIAS is a player "
            "alias of the recording (player-1, player-2 …, player-overflow, oversized-token); "
            "it is not shown, since it may be a token"
        )
    return None


def parse_tokens(pairs: list[str]) -> dict[str, str]:
    """``--token ALIAS=TOKEN`` pairs as a dict; the same pair twice is fine, one alias with two
    different tokens is refused, and so is a pair whose alias is not of the form the proxy
    writes (the command refuses both while parsing, see ``cmd_replay._TokenPairs``)."""
    tokens: dict[str, str] = {}
    for number, pair in enumerate(pairs, 1):
        alias, _, token = pair.partition("=")
        problem = not_a_pair(pair, number)
        if problem is not None:  # never echo it: it may be a bare token
            raise KitError(f"--token {problem}")
        if tokens.get(alias, token) != token:
            raise KitError(two_tokens(alias))
        tokens[alias] = token
    return tokens


def two_tokens(alias: str) -> str:
    """The complaint about an alias given two different tokens (neither is echoed)."""
    return f"{alias} is given two different tokens; give one --token per player"


@dataclass
class Survey:
    """What a recording holds, read once before anything is sent."""

    aliases: list[str] = field(default_factory=list)  # players, in order of first appearance
    exchanges: int = 0  # exchanges to API operations: what replay sends
    lines: int = 0  # recording lines, those outside the API (/healthz, GET *) included


def survey(paths: list[str], router: Router) -> Survey:
    """The recording's players and counts; a line that cannot be sent raises ``RecordingError``
    naming it, as ``steps`` does, before anything is sent."""
    found = Survey()
    seen: dict[str, None] = {}
    for path in paths:
        for number, line in read_lines(path):
            found.lines += 1
            if api_route(f"{path}:{number}", line, router) is None:
                continue
            found.exchanges += 1
            for player in (str(line.get("player", ANONYMOUS)), *query_aliases(line)):
                if player != ANONYMOUS:
                    seen.setdefault(player, None)
    found.aliases = list(seen)
    return found


def aliases_in(paths: list[str], router: Router) -> list[str]:
    return survey(paths, router).aliases


def nothing_to_replay(found: Survey) -> str:
    """Why a recording gives replay nothing to send."""
    if not found.lines:
        why = "the recording holds no exchange (empty or blank files)"
    else:
        why = (
            f"none of the recording's {found.lines} exchange(s) is to a rooms API operation "
            "(such as /healthz or GET *, which replay leaves out)"
        )
    return f"nothing to replay: {why}; nothing was compared"


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
    return xml_document(root)


NAMED_FILES = 6
"""Most file names a notice about their order lists."""


class Secrets:
    """The real tokens of replay's aliases, kept out of every text it prints or writes: the
    contract suite's scrubber (the forms a token takes in a URL, JSON, HTML or XML) naming each
    by its alias, then ``replace_tokens`` for a token %-escaped in only some characters."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self._aliases = list(tokens)
        self._known = Tokens.of(tokens.values())
        self._names = [(token, alias) for alias, token in tokens.items()]

    def scrub(self, text: str) -> str:
        text = self._known.scrub(text, lambda number: self._aliases[number - 1])
        return replace_tokens(text, self._names)

    def value(self, node: Any) -> Any:
        """A copy of a JSON value with every token replaced inside its strings (keys included)."""
        if isinstance(node, str):
            return self.scrub(node)
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if isinstance(node, dict):
            return {self.scrub(key): self.value(item) for key, item in node.items()}
        return node


class Scrubbed:
    """A text stream through which nothing holds a real token: each becomes its alias."""

    def __init__(self, stream: TextIO, secrets: Secrets) -> None:
        self.stream = stream
        self.secrets = secrets

    def write(self, text: str) -> int:
        return self.stream.write(self.secrets.scrub(text))

    def flush(self) -> None:
        self.stream.flush()


def scrubbed(difference: Difference, secrets: Secrets) -> Difference:
    """A difference as it may be shown: a token the server sent back (in a body, in the first
    difference's values) replaced by its alias before anything is rendered from it."""
    return replace(
        difference,
        where=secrets.scrub(difference.where),
        request=secrets.scrub(difference.request),
        what=secrets.scrub(difference.what),
        recorded=secrets.value(difference.recorded),
        replayed=secrets.value(difference.replayed),
    )


def _say(warnings: Scrubbed, line: str) -> None:
    warnings.write(line + "\n")
    warnings.flush()


def run_replay(
    paths: list[str],
    url: str,
    tokens: dict[str, str],
    *,
    report_dir: Path | None = None,
    limits: Limits | None = None,
    out: TextIO | None = None,
    warnings: TextIO | None = None,
) -> int:
    """0 when every answer matches the recording, 1 on a difference; ``KitError`` (exit 2) when
    there is nothing to replay, or the server cannot be reached before anything answered. A token
    for a player the recording never uses is a warning on ``warnings`` (standard error). No
    text written anywhere, the message of a ``KitError`` included, holds a token of ``tokens``
    (of four characters or more): each is written as its alias."""
    secrets = Secrets(tokens)
    try:
        return _replay(
            paths,
            url,
            tokens,
            secrets,
            report_dir=report_dir,
            limits=limits,
            # looked up now, not when the module was imported
            out=Scrubbed(out or sys.stdout, secrets),
            warnings=Scrubbed(warnings or sys.stderr, secrets),
        )
    except KitError as exc:
        if len(exc.args) == 1 and isinstance(exc.args[0], str):
            exc.args = (secrets.scrub(exc.args[0]),)
        raise


def _replay(
    paths: list[str],
    url: str,
    tokens: dict[str, str],
    secrets: Secrets,
    *,
    report_dir: Path | None,
    limits: Limits | None,
    out: Scrubbed,
    warnings: Scrubbed,
) -> int:
    ordered = in_rotation_order(paths)
    if ordered != paths:
        shown = ", ".join(ordered[:NAMED_FILES]) + (
            f" … ({len(ordered)} files)" if len(ordered) > NAMED_FILES else ""
        )
        _say(
            warnings,
            f"rooms-kit: notice: rotated files are replayed in the order they were written: {shown}",
        )
        paths = ordered
    router = Router(OpenApi.load())
    found = survey(paths, router)
    if not found.exchanges:
        raise KitError(nothing_to_replay(found))
    missing = [alias for alias in found.aliases if alias not in tokens]
    if missing:
        raise KitError(
            "the recording has players without a token: "
            + ", ".join(missing)
            + " (give --token ALIAS=TOKEN for each)"
        )
    unused = [alias for alias in tokens if alias not in found.aliases]
    if unused:
        _say(
            warnings,
            "rooms-kit: warning: --token for a player the recording never uses (not sent): "
            + ", ".join(unused),
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
            if difference is not None:
                difference = scrubbed(difference, secrets)
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
            reports = {
                "report.txt": render_text(url, replayer.sent, differences),
                "junit.xml": render_junit(cases),
            }
            for name, text in reports.items():
                (report_dir / name).write_text(secrets.scrub(text), encoding="utf-8")
        except OSError as exc:
            raise KitError(f"cannot write the reports to {report_dir}: {exc.strerror}") from None
    return 1 if differences else 0

"""What a user sees for a conformant server is pinned (deterministic phases, in process).

Regenerate after an intended change: ROOMS_KIT_UPDATE_SNAPSHOTS=1 pytest tests/contract
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rooms_kit.contract import Target, run_suite
from rooms_kit.contract.report import render_text
from rooms_kit.reference_server.app import create_reference_app

SNAPSHOT = Path(__file__).parent / "snapshots" / "conformant-report.txt"


def stable(text: str) -> str:
    """The report with its timings masked (request counts stay: they are deterministic)."""
    text = re.sub(
        r"^(\w+ +\d+ +)(\d+ +\d+ +\d+ +\d+)$",
        lambda m: m.group(1) + "# # # #",
        text,
        flags=re.MULTILINE,
    )
    return re.sub(r"^(  \w+) \(\d+ ms\): curl .*$", r"\1 (# ms): curl …", text, flags=re.MULTILINE)


def test_conformant_report_is_pinned() -> None:
    app = create_reference_app(":memory:", dev_tokens=True)
    try:
        results = run_suite(
            Target.asgi(app),
            ["dev-alice", "dev-bob", "dev-carol"],
            phases=("negative", "scenarios"),
        )
    finally:
        app.close()
    report = render_text(results)
    commands = re.findall(r"curl .*", report)
    assert commands
    # Masked in the snapshot (timings pick them); token N is $ROOMS_KIT_TOKEN_N, never the token.
    assert any('"Authorization: Bearer $ROOMS_KIT_TOKEN_' in command for command in commands)
    assert not re.search(r"dev-(alice|bob|carol)", report)
    text = stable(report)
    if os.environ.get("ROOMS_KIT_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8")

"""What the proxy keeps for judging, all exchanges together, is bounded (``--max-held-bytes``).

Each exchange keeps a copy of its answer for the checks, up to ``--max-response-bytes``; 1,000
clients that stop reading 8 MiB answers would have held 8 GiB. An answer that would take the
exchanges in flight past ``max_held_bytes`` is let go: forwarded unchanged but neither checked
nor recorded (said on standard error and counted), or, in strict mode, where only a checked answer
may go out, refused with 503 in Google's envelope. Here the budget is below one answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from rooms_kit.traffic.checking import Limits
from tests.contract.test_quick_pass import ROOM
from tests.traffic.support import LoopbackServer, ProxyRun, proxy_in_front_of

BUDGET = 64 * 1024
ROOMS = [dict(ROOM, roomId=f"r{n}") for n in range(400)]
LIST = json.dumps({"kind": "games#roomList", "items": ROOMS}).encode()
SMALL = json.dumps(dict(ROOM, roomId="small")).encode()
HEADERS = {"Authorization": "Bearer t-1"}


async def _list_and_room(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = LIST if scope["path"] == "/games/v1/rooms" else SMALL
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def _proxy(strict: bool, record: Path | None = None) -> Iterator[ProxyRun]:
    with (
        LoopbackServer(_list_and_room) as upstream,
        proxy_in_front_of(
            upstream.url, strict=strict, record=record, limits=Limits(max_held_bytes=BUDGET)
        ) as run,
    ):
        yield run


def test_an_answer_past_the_budget_goes_through_unchecked_and_unrecorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "traffic.ndjson"
    with _proxy(False, record) as run:
        _unchecked_and_unrecorded(run, record, capsys)


def _unchecked_and_unrecorded(
    run: ProxyRun, record: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(LIST) > BUDGET
    with httpx.Client(base_url=run.url, trust_env=False, timeout=30) as client:
        listed = client.get("/games/v1/rooms", headers=HEADERS)
        room = client.get("/games/v1/rooms/small", headers=HEADERS)
    assert (listed.status_code, listed.content) == (200, LIST)
    assert (room.status_code, room.content) == (200, SMALL)
    run.wait(2)
    assert (run.monitor.exchanges, run.monitor.unjudged, run.monitor.violations) == (2, 1, 0)
    assert run.parts.proxy.held == 0  # every exchange gave back what it kept
    err = capsys.readouterr().err
    assert (
        "rooms-kit proxy: exchange 1 (list GET /games/v1/rooms) went through neither checked "
        "nor recorded: the answers in flight would keep "
    ) in err
    assert f"bytes for checking, more than --max-held-bytes allows ({BUDGET:,})\n" in err
    run.parts.close()
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert [line["path"] for line in lines] == ["/games/v1/rooms/small"]


def test_in_strict_mode_an_answer_past_the_budget_is_refused_with_503() -> None:
    with _proxy(True) as strict:
        _refused(strict)


def _refused(strict: ProxyRun) -> None:
    with httpx.Client(base_url=strict.url, trust_env=False, timeout=30) as client:
        refused = client.get("/games/v1/rooms", headers=HEADERS)
        room = client.get("/games/v1/rooms/small", headers=HEADERS)  # the same connection
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == 503
    assert error["errors"][0]["reason"] == "proxyBusy"
    assert error["message"].startswith(
        "rooms-kit proxy (strict): the answer cannot be checked now: the answers in flight "
        "would keep "
    )
    assert (room.status_code, room.content) == (200, SMALL)
    strict.wait(2)
    assert (strict.monitor.unjudged, strict.monitor.violations) == (1, 0)
    assert strict.parts.proxy.held == 0

"""The proxy reads an answer's body once for the checks and the rules together (``Seen.reading``),
and the rules still leave alone what orjson refuses."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from rooms_kit.contract import http
from rooms_kit.traffic import seen as seen_module
from rooms_kit.traffic.checking import Judge
from rooms_kit.traffic.seen import Seen
from rooms_kit.traffic.serving import ProxySettings, assemble
from tests.contract.test_quick_pass import ROOM
from tests.traffic.support import judge


def _seen(number: int, path: str, body: bytes) -> Seen:
    return Seen(
        number=number,
        started=0.0,
        method="GET",
        path=path,
        query="",
        player="player-1",
        request_headers=[("Authorization", "Bearer player-1")],
        request_body=b"",
        status=200,
        response_headers=[("content-type", "application/json")],
        response_body=body,
    )


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = seen_module.read_json

    def counting(body: bytes) -> tuple[Any, bool]:
        sizes.append(len(body))
        return real(body)

    monkeypatch.setattr(seen_module, "read_json", counting)  # the rules' reading
    monkeypatch.setattr(http, "read_json", counting)  # the checks' own, when given none
    return sizes


def test_a_list_of_rooms_is_read_once_for_every_check_and_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    parts = assemble(
        ProxySettings(upstream="http://127.0.0.1:9"),
        out,
        Judge(judge().openapi, cache_size=0),
        err=io.StringIO(),
    )
    wrong = [dict(ROOM, roomId=f"r{n}", roomStatusVersion=str(n)) for n in range(50)]
    body = json.dumps({"kind": "games#roomList", "items": wrong}).encode()
    reads = _reads(monkeypatch)
    failures = parts.monitor.inspect(_seen(1, "/games/v1/rooms", body))
    assert reads == [len(body)]
    assert {failure.check for failure in failures} == {"openapi_response_schema", "strict_schema"}
    parts.close()


@pytest.mark.parametrize(
    ("body", "read"),
    [
        (b'{"kind": "games#room", "roomId": "r1", "roomStatusVersion": NaN}', False),
        (b'{"kind": "games#room", "roomId": "\\ud800"}', False),
        (b'{"kind": "games#room", "roomId": "r1", "variant": 12345678901234567890123}', True),
        (b'{"kind": "games#room", "roomId": "r1"}', True),
    ],
)
def test_the_rules_read_only_what_orjson_reads(body: bytes, read: bool) -> None:
    seen = _seen(1, "/games/v1/rooms/r1", body)
    value, _ = seen.reading()  # the checks read every one of them
    assert value["kind"] == "games#room"
    if read:
        assert seen.response_json() is value
    else:
        with pytest.raises(ValueError, match="not JSON that orjson reads"):
            seen.response_json()
    seen.forget_reading()
    assert seen._reading is None

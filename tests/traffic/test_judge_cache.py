"""The verdict cache: the same answer is judged once, a different one again, the size is bounded."""

from __future__ import annotations

import json

from rooms_kit.traffic.checking import Judge, exchange
from tests.traffic.support import judge


def _room_exchange(kind: str) -> object:
    body = json.dumps({"kind": kind, "roomId": "r1", "status": "ROOM_ACTIVE"}).encode()
    return exchange(
        "games.rooms.get",
        "GET",
        "/games/v1/rooms/r1",
        [],
        b"",
        200,
        [("content-type", "application/json")],
        body,
    )


def test_same_answer_is_judged_once_and_a_changed_one_again() -> None:
    small = Judge(judge().openapi, cache_size=2)
    good, bad = _room_exchange("games#room"), _room_exchange("games#rooms")
    first = small.run(good)  # type: ignore[arg-type]
    assert small.run(good) is first  # type: ignore[arg-type]
    assert small.hits == 1
    verdicts = small.run(bad)  # type: ignore[arg-type]
    assert small.hits == 1
    assert {name for name, failure in verdicts if failure} == {
        "strict_schema",
        "openapi_response_schema",
    }
    assert not [name for name, failure in first if failure]
    small.run(_room_exchange("games#roomList"))  # type: ignore[arg-type]
    assert small.run(good) is not first  # type: ignore[arg-type]  # evicted: judged again

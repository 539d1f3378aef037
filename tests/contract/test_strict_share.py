"""The strict-mode check describes a bounded share of a large body (``strict_share``): a body of
a million wrong values is judged without reading a million errors, a violation only among the
items left out is still found, and leaving items out changes no verdict on what is kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rooms_kit.contract import strict_share
from rooms_kit.contract.checks import UNJUDGED_SHARE, CheckContext, strict_schema
from rooms_kit.contract.failures import ContractFailure
from rooms_kit.contract.http import Exchange, RecordedRequest, RecordedResponse
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.contract.strict_share import STRICT_VALUES, Share, share_of
from rooms_kit.schemas import load_schemas

ROOT = Path(__file__).resolve().parents[2]
ARRAY_COUNTING = {"minItems", "maxItems", "uniqueItems", "contains", "minContains", "maxContains"}


@pytest.fixture(scope="module")
def ctx() -> CheckContext:
    return CheckContext(OpenApi.load())


def _listed(body: Any) -> Exchange:
    request = RecordedRequest("GET", "http://127.0.0.1:9/games/v1/rooms", (), None)
    raw = json.dumps(body).encode()
    response = RecordedResponse(200, (("content-type", "application/json"),), raw)
    return Exchange("games.rooms.list", request, response)


def _room() -> dict[str, Any]:
    room = json.loads((ROOT / "schemas/examples/valid/room.json").read_text(encoding="utf-8"))
    assert isinstance(room, dict)
    return room


def test_a_small_body_is_described_whole() -> None:
    body = {"items": list(range(10))}
    assert share_of(body, 10 * 1024) == Share(body)


def test_a_large_body_keeps_its_arrays_in_order_up_to_the_budget() -> None:
    body = {"a/b": [[1, 2], [3, 4, 5], [6]], "kind": "k", "z": [7, 8]}
    share = share_of(body, 1 << 20, budget=6)
    # counted: the body, "a/b", [1, 2], 1, 2, then [3, 4, 5] itself leaves the budget at 0
    assert share == Share({"a/b": [[1, 2], []], "kind": "k", "z": []}, 6, "/a~1b/1/0")


def test_the_payload_schemas_say_nothing_of_array_lengths() -> None:
    """What the share rests on: items left out change no verdict on the items kept."""
    found = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            found.extend(f"{where}/{key}" for key in ARRAY_COUNTING & node.keys())
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    for name, document in load_schemas().documents.items():
        walk(document, name)
    assert found == []


def test_a_million_wrong_items_are_described_from_a_share(
    ctx: CheckContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[int] = []
    check = ctx.strict.check

    def spied(document: Any, **options: Any) -> Any:
        given.append(len(document["items"]))
        return check(document, **options)

    monkeypatch.setattr(ctx.strict, "check", spied)
    body = {"kind": "games#roomList", "items": list(range(1_200_000))}
    with pytest.raises(ContractFailure) as failure:
        strict_schema(ctx, _listed(body))
    kept = STRICT_VALUES - 2  # the body and its "kind" count, and the list itself
    assert given == [kept - 1]
    # the items left out are not looked at: the share already fails, and may not be all
    assert failure.value.title == "at least 20 violation(s) of games#roomList"
    assert failure.value.message.startswith("/items/0 (type): ")
    assert failure.value.message.endswith(
        f"; {1_200_000 - kept + 1} array item(s) from /items/{kept - 1} on were neither "
        "described nor judged (the share described already breaks the schema) (the body is "
        "larger than the strict check describes)"
    )


def test_a_violation_only_among_the_items_left_out_is_still_found(
    ctx: CheckContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(strict_share, "STRICT_VALUES", 2_000)
    room = _room()
    rooms = [room] * 400
    body = {"kind": "games#roomList", "items": [*rooms, {**room, "surprise": True}]}
    strict_schema(ctx, _listed({"kind": "games#roomList", "items": rooms}))  # all good
    with pytest.raises(ContractFailure) as failure:
        strict_schema(ctx, _listed(body))
    share = share_of(body, 1 << 30, budget=2_000)
    assert share.left_out > 0
    assert failure.value.title == "at least 1 violation(s) of games#roomList"
    assert failure.value.message == (
        f"{share.first} (strict): a violation among the items not described; "
        f"{share.left_out} array item(s) from {share.first} on were judged as a whole, not "
        "described (the body is larger than the strict check describes)"
    )


def test_items_left_out_that_jsonschema_rs_cannot_read_are_reported_not_judged(
    ctx: CheckContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lone surrogate where jsonschema-rs must read the string (an enumeration) makes it give
    up on the whole body; the Python validator, which it fell back to, took 3.6 s over 8 MiB of
    rooms. The check says the items left out were not judged instead, and never asks it."""
    monkeypatch.setattr(strict_share, "STRICT_VALUES", 2_000)
    room = _room()
    body = {"kind": "games#roomList", "items": [*[room] * 400, {**room, "status": "\ud800"}]}
    rooms = ctx.strict.kind("roomList")

    class Unasked:
        def is_valid(self, document: Any) -> bool:
            raise AssertionError("the Python validator walked the whole body")

    monkeypatch.setitem(vars(rooms), "_reference", Unasked())
    with pytest.raises(ContractFailure) as failure:
        strict_schema(ctx, _listed(body))
    share = share_of(body, 1 << 30, budget=2_000)
    assert failure.value.title == f"{share.left_out} item(s) of the 200 body not judged"
    assert failure.value.message == (
        f"{share.first} (strict): {UNJUDGED_SHARE}; {share.left_out} array item(s) from "
        f"{share.first} on were not judged (the body is larger than the strict check describes)"
    )
    assert rooms.quick_verdict(body) is None
    assert rooms.quick_verdict({**body, "items": [room]}) is True

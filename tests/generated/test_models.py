"""The pydantic models: golden examples round-trip, names, kinds, int64 and enums."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from rooms_api import models

from rooms_kit.schemas import load_schemas

SCHEMAS = load_schemas()
VALID = SCHEMAS.directory / "examples" / "valid"


def model_for(kind: str) -> type[BaseModel]:
    name = kind.removeprefix("games#")
    found: type[BaseModel] = getattr(models, name[:1].upper() + name[1:])
    return found


def example_paths() -> list[Path]:
    return sorted(VALID.glob("*.json"))


def kind_of(path: Path) -> str:
    return next(k for k, e in SCHEMAS.kinds.items() if e.file.name == path.stem + ".schema.json")


def test_there_is_a_model_and_an_example_for_every_kind() -> None:
    assert len(example_paths()) == len(SCHEMAS.kinds) == 24
    for kind in SCHEMAS.kinds:
        assert issubclass(model_for(kind), BaseModel)


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_golden_examples_round_trip_without_loss(path: Path) -> None:
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    model = model_for(kind_of(path)).model_validate(data)
    assert model.model_dump(mode="json", by_alias=True, exclude_unset=True) == data
    assert model.model_dump(by_alias=True, exclude_unset=True) == data
    assert json.loads(model.model_dump_json(by_alias=True, exclude_unset=True)) == data


def test_snake_case_attributes_with_wire_aliases() -> None:
    status = models.RoomP2PStatus.model_validate(
        {"error_reason": "x", "connectionSetupLatencyMillis": 3, "participantId": "p"}
    )
    assert (status.error_reason, status.connection_setup_latency_millis) == ("x", 3)
    room = models.Room(room_id="r", room_status_version=2)
    assert room.model_dump(by_alias=True, exclude_none=True) == {
        "kind": "games#room", "roomId": "r", "roomStatusVersion": 2,
    }  # fmt: skip
    assert models.RoomStatus(status_version=4).model_dump(by_alias=True, exclude_none=True) == {
        "kind": "games#roomStatus", "statusVersion": 4,
    }  # fmt: skip
    assert models.Player.model_validate({"name": {"givenName": "A"}}).name == models.PlayerName(
        given_name="A"
    )


def test_kind_is_filled_in_and_fixed() -> None:
    assert models.RoomCreateRequest().kind == "games#roomCreateRequest"
    with pytest.raises(ValidationError):
        models.Room.model_validate({"kind": "games#roomList"})


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("9223372036854775807", True),
        ("-9223372036854775808", True),
        ("0", True),
        ("9223372036854775808", False),
        ("007", False),
        ("1.5", False),
        (" 1", False),
        ("12\n", False),
        (12, False),
    ],
)
def test_int64_strings_are_checked(value: Any, ok: bool) -> None:
    data = {"requestId": value}
    if ok:
        assert models.RoomCreateRequest.model_validate(data).request_id == value
    else:
        with pytest.raises(ValidationError):
            models.RoomCreateRequest.model_validate(data)


def test_int32_bounds_and_enums() -> None:
    with pytest.raises(ValidationError):
        models.Room.model_validate({"variant": 2**31})
    with pytest.raises(ValidationError):
        models.Room.model_validate({"status": "ROOM_OPEN"})
    assert models.Room.model_validate({"status": "ROOM_ACTIVE"}).status is (
        models.RoomStatusEnum.ROOM_ACTIVE
    )
    assert [v.value for v in models.LeaveRequestReason][:2] == ["PLAYER_LEFT", "GAME_LEFT"]

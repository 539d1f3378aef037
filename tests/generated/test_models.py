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


# --- docstrings, the Int64 alias and request bodies built in Python -------------------------------

API = None  # built lazily below, from the same schemas the package was generated from


def _api() -> Any:
    from rooms_kit.codegen.build import build_api  # noqa: PLC0415
    from rooms_kit.codegen.load import load  # noqa: PLC0415

    global API  # noqa: PLW0603
    if API is None:
        API = build_api(load())
    return API


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def test_every_class_is_documented_from_its_schema() -> None:
    api = _api()
    for model in api.models:
        assert _words(getattr(models, model.class_name).__doc__) == _words(model.description)
    for enum in api.enums:
        doc = _words(getattr(models, enum.class_name).__doc__)
        assert doc.startswith(_words(enum.description)), enum.class_name
        for value, note in zip(enum.values, enum.value_descriptions, strict=True):
            assert f"``{value}``: {_words(note)}" in doc, (enum.class_name, value)


def test_int64_is_one_alias() -> None:
    source = Path(models.__file__).read_text(encoding="utf-8")
    assert source.count(_api().int64_pattern) == 1
    assert "Int64 = TypeAliasType(" in source
    assert "request_id: Annotated[Int64 | None," in source
    assert models.RoomCreateRequest(request_id="-9223372036854775808").request_id is not None
    with pytest.raises(ValidationError):
        models.RoomCreateRequest(request_id="9223372036854775808")


@pytest.mark.parametrize(
    ("build", "unknown"),
    [
        (lambda: models.RoomCreateRequest(varient=1), "varient"),
        (lambda: models.RoomJoinRequest(capability=["x"]), "capability"),
        (lambda: models.RoomLeaveRequest(reason="PLAYER_LEFT", reson="x"), "reson"),
        (lambda: models.RoomP2PStatuses(update=[]), "update"),
        (lambda: models.RoomP2PStatus(participantid="p"), "participantid"),  # nested, request-only
    ],
    ids=["create", "join", "leave", "report-status", "nested"],
)
def test_request_bodies_built_in_python_refuse_unknown_names(build: Any, unknown: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    (error,) = caught.value.errors()
    assert (error["type"], error["loc"]) == ("extra_forbidden", (unknown,))


def test_request_bodies_accept_python_and_wire_names_and_stay_open_on_the_wire() -> None:
    by_name = models.RoomCreateRequest(request_id="1", variant=2)
    by_alias = models.RoomCreateRequest(requestId="1", variant=2)  # type: ignore[call-arg]
    assert by_name == by_alias
    parsed = models.RoomCreateRequest.model_validate({"variant": 1, "futureField": True})
    assert parsed.model_dump(by_alias=True, exclude_none=True)["futureField"] is True
    parsed_json = models.RoomCreateRequest.model_validate_json(b'{"futureField": 1}')
    assert parsed_json.model_extra == {"futureField": 1}


def test_reply_models_stay_tolerant() -> None:
    room = models.Room.model_validate({"roomId": "r", "addedLater": 1})
    assert room.model_extra == {"addedLater": 1}
    assert not issubclass(models.Room, models.RequestModel)

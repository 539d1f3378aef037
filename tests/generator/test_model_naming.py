"""Naming decisions of the intermediate model."""

from __future__ import annotations

import pytest

from rooms_kit.codegen.build import build_api
from rooms_kit.codegen.load import load
from rooms_kit.codegen.model import class_name_of_kind, snake_case


@pytest.mark.parametrize(
    ("wire", "python"),
    [
        ("roomId", "room_id"),
        ("roomStatusVersion", "room_status_version"),
        ("error_reason", "error_reason"),
        ("reportStatus", "report_status"),
        ("iosNetworkType", "ios_network_type"),
        ("roomP2PStatus", "room_p2p_status"),
        ("oauth_token", "oauth_token"),
        ("userIp", "user_ip"),
        ("HTTPServer", "http_server"),
        ("kind", "kind"),
        ("import", "import_"),
    ],
)
def test_snake_case(wire: str, python: str) -> None:
    assert snake_case(wire) == python


def test_class_names_of_kinds() -> None:
    assert class_name_of_kind("games#roomP2PStatuses") == "RoomP2PStatuses"
    assert class_name_of_kind("games#room") == "Room"


def test_api_model_decisions() -> None:
    api = build_api(load())
    assert [op.py_name for op in api.operations] == [
        "create", "decline", "dismiss", "get", "join", "leave", "list", "report_status",
    ]  # fmt: skip
    enums = {e.wire_name: e.class_name for e in api.enums}
    # the enum would clash with the games#roomStatus model, so it gets a suffix
    assert enums["roomStatus"] == "RoomStatusEnum"
    assert enums["leaveRequestReason"] == "LeaveRequestReason"
    player = api.model("Player")
    name = next(f for f in player.fields if f.wire_name == "name")
    assert (name.type.kind, name.type.target) == ("model", "PlayerName")
    assert api.model("PlayerName").kind is None
    dismiss = next(op for op in api.operations if op.name == "dismiss")
    assert [p.wire_name for p in dismiss.parameters] == ["roomId", "consistencyToken"]
    assert (dismiss.request_model, dismiss.response_model, dismiss.success_status) == (
        None, None, 204,
    )  # fmt: skip
    listing = next(op for op in api.operations if op.name == "list")
    max_results = next(p for p in listing.parameters if p.wire_name == "maxResults")
    assert (max_results.minimum, max_results.maximum, max_results.type.kind) == (1, 500, "int32")

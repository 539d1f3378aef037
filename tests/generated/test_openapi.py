"""``openapi.json``: valid OpenAPI 3.1 and faithful to the operations file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from rooms_api.documents import openapi_document

from rooms_kit.codegen import OUTPUT_DIR
from rooms_kit.schemas import load_schemas

OPERATIONS = {
    "games.rooms.create": ("post", "/games/v1/rooms/create"),
    "games.rooms.decline": ("post", "/games/v1/rooms/{roomId}/decline"),
    "games.rooms.dismiss": ("post", "/games/v1/rooms/{roomId}/dismiss"),
    "games.rooms.get": ("get", "/games/v1/rooms/{roomId}"),
    "games.rooms.join": ("post", "/games/v1/rooms/{roomId}/join"),
    "games.rooms.leave": ("post", "/games/v1/rooms/{roomId}/leave"),
    "games.rooms.list": ("get", "/games/v1/rooms"),
    "games.rooms.reportStatus": ("post", "/games/v1/rooms/{roomId}/reportstatus"),
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi_document()


def operation(doc: dict[str, Any], operation_id: str) -> dict[str, Any]:
    method, path = OPERATIONS[operation_id]
    found: dict[str, Any] = doc["paths"][path][method]
    return found


def test_validates_as_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_operation_ids_and_paths(doc: dict[str, Any]) -> None:
    found = {
        op["operationId"]: (method, path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }
    assert found == OPERATIONS


def test_parameters_carry_bounds_and_int64_pattern(doc: dict[str, Any]) -> None:
    listed = {p["name"]: p for p in operation(doc, "games.rooms.list")["parameters"] if "name" in p}
    assert listed["maxResults"]["schema"] == {
        "type": "integer", "format": "int32", "minimum": 1, "maximum": 500,
    }  # fmt: skip
    int64 = load_schemas().documents["common.schema.json"]["$defs"]["int64"]["pattern"]
    assert listed["consistencyToken"]["schema"]["pattern"] == int64
    dismiss = operation(doc, "games.rooms.dismiss")
    names = [p.get("name") for p in dismiss["parameters"] if "name" in p]
    assert names == ["roomId", "consistencyToken"]
    assert dismiss["parameters"][0]["required"] is True
    refs = {p["$ref"] for p in dismiss["parameters"] if "$ref" in p}
    assert {r.rsplit("/", 1)[1] for r in refs} == {
        "alt", "fields", "key", "oauth_token", "prettyPrint", "quotaUser", "userIp",
    }  # fmt: skip


def test_responses_errors_and_security(doc: dict[str, Any]) -> None:
    for operation_id in OPERATIONS:
        op = operation(doc, operation_id)
        statuses = set(op["responses"])
        success = "204" if operation_id == "games.rooms.dismiss" else "200"
        assert statuses == {success, "400", "401", "403", "404", "409", "429", "500"}
        assert op["security"] == [{"bearerAuth": []}]
    assert "content" not in operation(doc, "games.rooms.dismiss")["responses"]["204"]
    envelope = doc["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["properties"]["error"]["required"] == ["code", "message", "errors"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_request_bodies(doc: dict[str, Any]) -> None:
    bodies = {
        op_id: operation(doc, op_id).get("requestBody", {}).get("content", {})
        for op_id in OPERATIONS
    }
    refs = {k: v["application/json"]["schema"]["$ref"] for k, v in bodies.items() if v}
    assert refs == {
        "games.rooms.create": "#/components/schemas/RoomCreateRequest",
        "games.rooms.join": "#/components/schemas/RoomJoinRequest",
        "games.rooms.leave": "#/components/schemas/RoomLeaveRequest",
        "games.rooms.reportStatus": "#/components/schemas/RoomP2PStatuses",
    }


@pytest.mark.parametrize("source", ["games.rooms.create", "games.rooms.join"])
def test_links_chain_room_id_to_every_room_operation(doc: dict[str, Any], source: str) -> None:
    links = operation(doc, source)["responses"]["200"]["links"]
    targets = {link["operationId"] for link in links.values()}
    assert targets == {op for op, (_, path) in OPERATIONS.items() if "{roomId}" in path}
    for link in links.values():
        assert link["parameters"] == {"roomId": "$response.body#/roomId"}


def test_component_schemas_follow_the_kind_schemas(doc: dict[str, Any]) -> None:
    schemas = load_schemas()
    components = doc["components"]["schemas"]
    for kind, entry in schemas.kinds.items():
        name = kind.removeprefix("games#")
        component = components[name[:1].upper() + name[1:]]
        assert list(component["properties"]) == list(entry.schema["properties"])
        assert component["properties"]["kind"]["const"] == kind


def test_every_schema_title_is_its_unique_component_name(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert {name: schema.get("title") for name, schema in schemas.items()} == {
        name: name for name in schemas
    }


OPERATION_MODULES = {f"games_rooms_{re.sub(r'(?<!^)(?=[A-Z])', '_', op.split('.')[-1]).lower()}.py"
                     for op in OPERATIONS}  # fmt: skip


def test_openapi_python_client_reads_it_without_a_warning(tmp_path: Path) -> None:
    """Another generator, run offline on openapi.json, keeps all eight operations and every model."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter runs: only what it parses
    out = tmp_path / "client"
    tool = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(
        [str(tool), "generate", "--path", str(OUTPUT_DIR / "rooms_api" / "openapi.json"),
         "--meta", "none", "--output-path", str(out), "--config", str(config),
         "--fail-on-warning"],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    assert {p.name for p in (out / "api" / "rooms").glob("games_rooms_*.py")} == OPERATION_MODULES
    models = {p.stem.replace("_", "") for p in (out / "models").glob("*.py")}
    for name in openapi_document()["components"]["schemas"]:
        assert name.lower() in models, name

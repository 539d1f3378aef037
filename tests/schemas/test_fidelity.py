"""The schemas hold exactly the fields, nesting and kinds of the source document's templates,
and the number encodings and enumerations of the API facts: nothing missing, nothing invented."""

from __future__ import annotations

from typing import Any

from rooms_kit.schemas import BASE_URI, SchemaSet
from tests.support.schema_helpers import resolve
from tests.support.shared_docs import Shape, enumerations, int_fields, object_templates, shape_of

INT64 = "common.schema.json#/$defs/int64"
INT32 = "common.schema.json#/$defs/int32"


def _compare(
    schemas: SchemaSet, uri: str, node: dict[str, Any], doc: Any, at: str, seen: set[str]
) -> list[str]:
    problems: list[str] = []
    ref = node.get("$ref", "")
    if isinstance(doc, Shape):
        uri, target = resolve(schemas, uri, node)
        if target.get("type") != "object":
            return [f"{at}: document has an object, schema has {target.get('type')}"]
        kind = target["properties"].get("kind", {}).get("const")
        if kind != doc.kind:
            problems.append(f"{at}: document kind {doc.kind}, schema kind {kind}")
        if kind:
            seen.add(kind)
        missing = sorted(set(doc.fields) - set(target["properties"]))
        invented = sorted(set(target["properties"]) - set(doc.fields))
        problems += [f"{at}/{name}: missing from schema" for name in missing]
        problems += [f"{at}/{name}: not in the document" for name in invented]
        for name in sorted(set(doc.fields) & set(target["properties"])):
            problems += _compare(
                schemas, uri, target["properties"][name], doc.fields[name], f"{at}/{name}", seen
            )
    elif isinstance(doc, list):
        if node.get("type") != "array":
            return [f"{at}: document has a list, schema has {node.get('type')}"]
        problems += _compare(schemas, uri, node["items"], doc[0], f"{at}/0", seen)
    elif doc == "number":
        if ref != INT32:
            problems.append(f"{at}: a number in the document, but not an int32 in the schema")
    elif doc == "boolean":
        if node.get("type") != "boolean":
            problems.append(f"{at}: a boolean in the document")
    else:
        _, target = resolve(schemas, uri, node)
        if target.get("type") != "string":
            problems.append(f"{at}: a string in the document, {target.get('type')} in the schema")
    return problems


def test_templates_match_schemas_exactly(schemas: SchemaSet) -> None:
    templates = object_templates()
    assert len(templates) >= 10, "the source document should hold a template per request and reply"
    seen: set[str] = set()
    problems: list[str] = []
    for template in templates:
        kind = template["kind"]
        entry = schemas.kind(kind)
        problems += _compare(
            schemas, entry.uri, {"$ref": entry.uri}, shape_of(template), kind, seen
        )
    assert problems == []
    assert seen == set(schemas.kind_names()), "every kind is reached from the document's templates"


def test_player_name_is_inline_without_kind(schemas: SchemaSet) -> None:
    name = schemas.kind("player").schema["properties"]["name"]
    assert "$ref" not in name
    assert set(name["properties"]) == {"givenName", "familyName"}
    assert "kind" not in name["properties"]


def _fields_with_ref(schemas: SchemaSet, ref: str) -> set[tuple[str, str]]:
    return {
        (entry.name, prop)
        for entry in schemas.kinds.values()
        for prop, node in entry.schema["properties"].items()
        if node.get("$ref") == ref
    }


def test_int64_and_int32_fields_are_those_of_the_api_facts(schemas: SchemaSet) -> None:
    int64, int32 = int_fields()
    assert len(int64) == 13 and len(int32) == 21
    assert _fields_with_ref(schemas, INT64) == int64
    assert _fields_with_ref(schemas, INT32) == int32


def test_enumerations_are_those_of_the_api_facts(schemas: SchemaSet) -> None:
    defs = schemas.documents["common.schema.json"]["$defs"]
    names = [
        "roomStatus",
        "participantStatus",
        "leaveReason",
        "leaveRequestReason",
        "peerStatus",
        "peerError",
    ]
    assert [defs[name]["enum"] for name in names] == enumerations()
    users = {
        (entry.name, prop): node["$ref"].rpartition("/")[2]
        for entry in schemas.kinds.values()
        for prop, node in entry.schema["properties"].items()
        if node.get("$ref", "").startswith("common.schema.json#/$defs/")
        and node["$ref"] not in (INT64, INT32)
    }
    assert users == {
        ("room", "status"): "roomStatus",
        ("roomStatus", "status"): "roomStatus",
        ("roomParticipant", "status"): "participantStatus",
        ("roomParticipant", "leaveReason"): "leaveReason",
        ("roomLeaveRequest", "reason"): "leaveRequestReason",
        ("roomP2PStatus", "status"): "peerStatus",
        ("roomP2PStatus", "error"): "peerError",
    }


def test_irregular_wire_names_are_kept(schemas: SchemaSet) -> None:
    assert "error_reason" in schemas.kind("roomP2PStatus").schema["properties"]
    assert "statusVersion" in schemas.kind("roomStatus").schema["properties"]
    assert "roomStatusVersion" in schemas.kind("room").schema["properties"]
    assert BASE_URI.startswith("https://") and BASE_URI.split("/")[2].endswith(".invalid")

"""Every ``$ref`` resolves offline, and every kind is declared exactly once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from referencing import Registry
from referencing.exceptions import Unresolvable

from rooms_kit.schemas import BASE_URI, SchemaSet, schemas_dir

KINDS = sorted(
    f"games#{name}"
    for name in (
        "room roomCreateRequest roomJoinRequest roomLeaveRequest roomLeaveDiagnostics "
        "peerSessionDiagnostics peerChannelDiagnostics aggregateStats "
        "roomP2PStatuses roomP2PStatus "
        "roomStatus roomList roomParticipant player anonymousPlayer roomModification "
        "roomAutoMatchingCriteria roomAutoMatchStatus networkDiagnostics roomClientAddress played "
        "profileSettings playerExperienceInfo playerLevel"
    ).split()
)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_all_24_kinds_each_exactly_once(schemas: SchemaSet) -> None:
    declared = [
        json.loads(p.read_text()).get("properties", {}).get("kind", {}).get("const")
        for p in sorted(schemas_dir().glob("*.schema.json"))
    ]
    declared = [k for k in declared if k is not None]
    assert sorted(declared) == KINDS
    assert len(set(declared)) == len(declared) == 24
    assert schemas.kind_names() == KINDS


def test_refs_are_relative_and_resolve_without_network(schemas: SchemaSet) -> None:
    # A registry that cannot retrieve anything: any ref outside the folder would raise.
    registry: Registry[Any] = schemas.registry()
    documents = {**schemas.documents, "operations.json": schemas.operations}
    count = 0
    for name, document in documents.items():
        resolver = registry.resolver(base_uri=BASE_URI + name)
        for ref in _refs(document):
            assert "://" not in ref, f"{name}: absolute $ref {ref}"
            resolver.lookup(ref)
            count += 1
    assert count > 60


def test_unknown_ref_is_unresolvable(schemas: SchemaSet) -> None:
    resolver = schemas.registry().resolver(base_uri=BASE_URI + "room.schema.json")
    with pytest.raises(Unresolvable):
        resolver.lookup("https://example.com/remote.schema.json")


@pytest.mark.parametrize("kind", KINDS)
def test_kind_is_const_with_default(schemas: SchemaSet, kind: str) -> None:
    prop = schemas.kind(kind).schema["properties"]["kind"]
    assert prop["const"] == prop["default"] == kind
    assert prop["type"] == "string"


def test_kind_lookup_accepts_short_and_full_names(schemas: SchemaSet) -> None:
    assert schemas.kind("room") is schemas.kind("games#room")

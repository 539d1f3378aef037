"""Every schema file and the operations file are valid against their metaschemas."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from rooms_kit.errors import SchemaError
from rooms_kit.schemas import BASE_URI, load_schemas, schemas_dir

SCHEMA_FILES = sorted(schemas_dir().glob("*.schema.json"))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == BASE_URI + path.name
    Draft202012Validator.check_schema(schema)


def test_operations_file_is_valid_against_its_schema() -> None:
    folder = schemas_dir()
    meta = json.loads((folder / "meta" / "operations.schema.json").read_text())
    Draft202012Validator.check_schema(meta)
    errors = list(
        Draft202012Validator(meta).iter_errors(json.loads((folder / "operations.json").read_text()))
    )
    assert errors == []


@pytest.fixture
def copy_of_schemas(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), target, ignore=shutil.ignore_patterns("examples"))
    return target


def _edit(path: Path, change: object) -> None:
    data = json.loads(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data, indent=2))


def test_breaking_a_schema_names_file_and_pointer(copy_of_schemas: Path) -> None:
    target = copy_of_schemas / "room.schema.json"
    _edit(target, lambda s: s["properties"]["variant"].__setitem__("type", "int"))
    with pytest.raises(SchemaError) as caught:
        load_schemas(copy_of_schemas)
    assert caught.value.location.file == target
    assert caught.value.location.pointer == "/properties/variant/type"


def test_json_syntax_error_names_the_line(copy_of_schemas: Path) -> None:
    target = copy_of_schemas / "played.schema.json"
    target.write_text('{\n  "title": "x",\n  oops\n}\n')
    with pytest.raises(SchemaError) as caught:
        load_schemas(copy_of_schemas)
    assert str(caught.value).startswith(f"{target}:3: not JSON")


def test_unresolvable_ref_is_reported_with_pointer(copy_of_schemas: Path) -> None:
    target = copy_of_schemas / "room.schema.json"
    _edit(
        target,
        lambda s: s["properties"]["creationDetails"].__setitem__("$ref", "missing.schema.json"),
    )
    with pytest.raises(SchemaError) as caught:
        load_schemas(copy_of_schemas)
    assert caught.value.location.pointer == "/properties/creationDetails/$ref"
    assert "missing.schema.json" in caught.value.message


def test_operations_with_unknown_kind_is_rejected(copy_of_schemas: Path) -> None:
    target = copy_of_schemas / "operations.json"
    _edit(
        target, lambda d: d["operations"][0].__setitem__("requestKind", "games#roomCreateRequests")
    )
    with pytest.raises(SchemaError) as caught:
        load_schemas(copy_of_schemas)
    assert caught.value.location.pointer == "/operations/0/requestKind"


def test_operations_breaking_its_metaschema_is_rejected(copy_of_schemas: Path) -> None:
    target = copy_of_schemas / "operations.json"
    _edit(target, lambda d: d["operations"][3].__setitem__("httpMethod", "FETCH"))
    with pytest.raises(SchemaError) as caught:
        load_schemas(copy_of_schemas)
    assert caught.value.location.pointer == "/operations/3/httpMethod"


def test_duplicate_kind_is_rejected(copy_of_schemas: Path) -> None:
    target = copy_of_schemas / "played.schema.json"
    _edit(target, lambda s: s["properties"]["kind"].__setitem__("const", "games#room"))
    with pytest.raises(SchemaError, match="already declared"):
        load_schemas(copy_of_schemas)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_quick_metaschema_check_accepts_every_schema_file(path: Path) -> None:
    # The schemas of the kit pass jsonschema-rs's check, so start-up skips the slow one.
    from rooms_kit.schemas.loading import _surely_valid_schema  # noqa: PLC0415

    assert _surely_valid_schema(json.loads(path.read_text()))


BROKEN_SCHEMAS = {
    "type-not-a-type": {"type": "int"},
    "pattern-not-a-regex": {"type": "string", "pattern": "(unclosed"},
    "pattern-properties-key-not-a-regex": {"patternProperties": {"[a-": {}}},
    "nested-pattern-not-a-regex": {"properties": {"x": {"items": {"pattern": "*"}}}},
    "minimum-not-a-number": {"minimum": "1"},
    "properties-not-an-object": {"properties": []},
    "required-not-strings": {"required": [1]},
    "enum-not-an-array": {"enum": "A"},
    "anchor-bad-name": {"$anchor": "1-not-a-name"},
    "items-not-a-schema": {"items": 3},
}


@pytest.mark.parametrize("name", sorted(BROKEN_SCHEMAS))
def test_quick_metaschema_check_leaves_every_broken_schema_to_check_schema(name: str) -> None:
    # Whatever check_schema rejects, the quick check must not accept; check_schema then words it.
    from jsonschema.exceptions import SchemaError as Violation  # noqa: PLC0415

    from rooms_kit.schemas.loading import _surely_valid_schema  # noqa: PLC0415

    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **BROKEN_SCHEMAS[name]}
    with pytest.raises(Violation):
        Draft202012Validator.check_schema(schema)
    assert not _surely_valid_schema(schema)


def test_broken_pattern_is_reported_with_its_pointer(copy_of_schemas: Path) -> None:
    target = copy_of_schemas / "common.schema.json"
    _edit(target, lambda s: s["$defs"]["int64"].__setitem__("pattern", "^(0|[1-9]"))
    with pytest.raises(SchemaError) as caught:
        load_schemas(copy_of_schemas)
    assert caught.value.location.file == target
    assert caught.value.location.pointer == "/$defs/int64/pattern"


def test_wrong_id_is_reported_even_when_the_metaschema_check_passes(
    copy_of_schemas: Path,
) -> None:
    target = copy_of_schemas / "played.schema.json"
    _edit(target, lambda s: s.__setitem__("$id", BASE_URI + "other.schema.json"))
    with pytest.raises(SchemaError) as caught:
        load_schemas(copy_of_schemas)
    assert caught.value.location.file == target
    assert caught.value.location.pointer == "/$id"

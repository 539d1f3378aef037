"""Reads ``schemas/``, checks every file against its metaschema and indexes the kinds.

Problems are raised as ``SchemaError`` naming the file, the line (for JSON syntax errors) and the
JSON pointer of the offending spot. Nothing here touches the network: every ``$ref`` is resolved
against the files of the folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
from referencing import Registry, Resource
from referencing.exceptions import NoSuchAnchor, PointerToNowhere, Unresolvable
from referencing.jsonschema import DRAFT202012

from rooms_kit.errors import Location, SchemaError, UnknownKindError
from rooms_kit.schemas.nesting import deeper_than
from rooms_kit.schemas.strictness import close_objects

BASE_URI = "https://games-rooms-kit.invalid/schemas/v1/"
KIND_PREFIX = "games#"
OPERATIONS_FILE = "operations.json"
OPERATIONS_METASCHEMA = "meta/operations.schema.json"

JSON = dict[str, Any]


@dataclass(frozen=True)
class KindSchema:
    """The schema of one ``games#`` kind."""

    name: str  # "room"
    kind: str  # "games#room"
    file: Path
    uri: str
    schema: Mapping[str, Any]


def pointer_of(parts: Iterator[Any] | list[Any] | Any) -> str:
    """Render path parts as a JSON pointer (RFC 6901)."""
    texts = [str(p) for p in parts]
    if not texts:
        return ""
    joined = "/".join(texts)
    if "~" not in joined and joined.count("/") == len(texts) - 1:
        return "/" + joined  # nothing to escape (the usual case)
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in texts)


def token_of(escaped: str) -> str:
    """One reference token of a JSON pointer, unescaped (RFC 6901: ``~1`` is ``/``, ``~0`` is
    ``~``, in that order)."""
    return escaped.replace("~1", "/").replace("~0", "~")


MAX_SCHEMA_DEPTH = 64
"""Levels of nesting a schema file may have (the rooms schemas use fewer than ten); deeper files
are refused before anything walks them recursively."""


def read_json(path: Path) -> Any:
    """Parse one JSON file, turning every failure into a located ``SchemaError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(Location(path), f"cannot read: {exc}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(Location(path, line=exc.lineno), f"not JSON: {exc.msg}") from None
    except RecursionError:
        value = None
        too_deep: tuple[Any, ...] | None = ()
    else:
        too_deep = deeper_than(value, MAX_SCHEMA_DEPTH)
    if too_deep is not None:
        raise SchemaError(
            Location(path, pointer_of(list(too_deep))),
            f"nested deeper than {MAX_SCHEMA_DEPTH} levels; no schema needs that many",
        )
    return value


class SchemaSet:
    """Every schema of the folder, indexed by kind, with registries for ``$ref`` resolution."""

    def __init__(self, directory: Path, documents: Mapping[str, JSON], operations: JSON) -> None:
        self.directory = directory
        self.documents = dict(documents)  # file name relative to directory -> schema
        self.operations = operations
        self.kinds: dict[str, KindSchema] = {}
        for rel, schema in sorted(self.documents.items()):
            kind = schema.get("properties", {}).get("kind", {}).get("const")
            if not isinstance(kind, str):
                continue
            path = directory / rel
            if kind in self.kinds:
                raise SchemaError(
                    Location(path, "/properties/kind/const"),
                    f"kind {kind} is already declared by {self.kinds[kind].file.name}",
                )
            if not kind.startswith(KIND_PREFIX):
                raise SchemaError(
                    Location(path, "/properties/kind/const"),
                    f"kind {kind!r} does not start with {KIND_PREFIX!r}",
                )
            self.kinds[kind] = KindSchema(
                kind.removeprefix(KIND_PREFIX), kind, path, schema["$id"], schema
            )
        self._registries: dict[bool, Registry[Any]] = {}

    def kind_names(self) -> list[str]:
        """All kinds, sorted, as ``games#…`` strings."""
        return sorted(self.kinds)

    def kind(self, name: str) -> KindSchema:
        """Look a kind up by ``room`` or ``games#room``."""
        full = name if name.startswith(KIND_PREFIX) else KIND_PREFIX + name
        try:
            return self.kinds[full]
        except KeyError:
            raise UnknownKindError(name, self.kind_names()) from None

    def registry(self, *, strict: bool = False) -> Registry[Any]:
        """A registry of every schema; ``strict`` closes every object to unknown properties."""
        if strict not in self._registries:
            resources = [
                (
                    schema["$id"],
                    Resource.from_contents(
                        close_objects(schema) if strict else schema,
                        default_specification=DRAFT202012,
                    ),
                )
                for schema in self.documents.values()
            ]
            self._registries[strict] = Registry().with_resources(resources)
        return self._registries[strict]


def _schema_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.schema.json") if p.is_file())


def _surely_valid_schema(schema: Any) -> bool:
    """A quick "yes" for the metaschema check, or False to let ``check_schema`` decide.

    ``check_schema`` walks the Draft 2020-12 metaschema in Python, which took about half of
    ``rooms-kit validate``'s start-up. jsonschema-rs checks the same metaschema in microseconds;
    the one format ``check_schema`` also checks here is ``regex`` (of ``pattern`` and the keys of
    ``patternProperties``), so every such string, and any other string under a ``pattern`` key,
    must compile as well. Any doubt goes to ``check_schema``, which gives the verdict and the
    message; this only skips it for schemas both would accept.
    """
    if not jsonschema_rs.meta.is_valid(schema):
        return False
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            candidates = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
            if isinstance(node.get("patternProperties"), dict):
                candidates += list(node["patternProperties"])
            for candidate in candidates:
                try:
                    re.compile(candidate)
                except re.error:
                    return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def _check_metaschema(path: Path, schema: Any) -> None:
    if not isinstance(schema, dict):
        raise SchemaError(Location(path), "a schema must be a JSON object")
    if not _surely_valid_schema(schema):
        _check_schema_slowly(path, schema)
    expected_id = BASE_URI + path.name
    if schema.get("$id") != expected_id:
        raise SchemaError(Location(path, "/$id"), f"$id must be {expected_id!r}")


def _refs(node: Any, at: list[Any]) -> Iterator[tuple[list[Any], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield [*at, key], value
            else:
                yield from _refs(value, [*at, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, [*at, index])


def _check_refs(path: Path, schema: JSON, base: str, registry: Registry[Any]) -> None:
    resolver = registry.resolver(base_uri=base)
    for at, ref in _refs(schema, []):
        try:
            resolver.lookup(ref)
        except Unresolvable as exc:
            raise SchemaError(
                Location(path, pointer_of(at)), f"$ref {ref!r} does not resolve: {_why(ref, exc)}"
            ) from None


def _why(ref: str, exc: Unresolvable) -> str:
    """Why ``ref`` leads nowhere, in a line: the library's own words for a pointer or an anchor
    that names nothing hold the whole schema it looked in (several KiB of a Python dict)."""
    target, _, fragment = ref.partition("#")
    where = target or "this file"
    if isinstance(exc, PointerToNowhere):
        return f"{where} has nothing at the JSON pointer {fragment!r}"
    if isinstance(exc, NoSuchAnchor):
        return f"{where} has no anchor {fragment!r}"
    text = str(exc)
    return text if len(text) <= 200 else f"{text[:200]}…"


def _check_operations(directory: Path, operations: JSON, kinds: SchemaSet) -> None:
    path = directory / OPERATIONS_FILE
    meta = read_json(directory / OPERATIONS_METASCHEMA)
    _check_metaschema_only(directory / OPERATIONS_METASCHEMA, meta)
    # jsonschema-rs for the verdict (fast); jsonschema for the message when there is an error.
    if jsonschema_rs.validator_for(meta).is_valid(operations):
        errors = []
    else:
        from jsonschema import Draft202012Validator  # noqa: PLC0415

        errors = sorted(
            Draft202012Validator(meta).iter_errors(operations),
            key=lambda e: list(e.absolute_path),
        )
    if errors:
        err = errors[0]
        raise SchemaError(Location(path, pointer_of(err.absolute_path)), err.message)
    seen: set[str] = set()
    for index, op in enumerate(operations["operations"]):
        for field in ("requestKind", "responseKind"):
            value = op[field]
            if value is not None and value not in kinds.kinds:
                raise SchemaError(
                    Location(path, f"/operations/{index}/{field}"), f"unknown kind {value!r}"
                )
        if op["id"] in seen:
            raise SchemaError(Location(path, f"/operations/{index}/id"), "duplicate id")
        seen.add(op["id"])
    _check_refs(path, operations, BASE_URI + OPERATIONS_FILE, kinds.registry())


def _check_metaschema_only(path: Path, schema: Any) -> None:
    if not _surely_valid_schema(schema):
        _check_schema_slowly(path, schema)


def _check_schema_slowly(path: Path, schema: Any) -> None:
    """``jsonschema``'s metaschema check, for its verdict and its message (imported on demand)."""
    from jsonschema import Draft202012Validator  # noqa: PLC0415
    from jsonschema.exceptions import SchemaError as MetaschemaViolation  # noqa: PLC0415

    try:
        Draft202012Validator.check_schema(schema)
    except MetaschemaViolation as exc:
        raise SchemaError(Location(path, pointer_of(exc.path)), exc.message) from None


def load_schemas(directory: Path | None = None) -> SchemaSet:
    """Load and check every schema and the operations file of ``directory``."""
    from rooms_kit.schemas.location import schemas_dir  # noqa: PLC0415

    directory = directory or schemas_dir()
    if not directory.is_dir():
        raise SchemaError(Location(directory), "schemas folder not found")
    documents: dict[str, JSON] = {}
    for path in _schema_files(directory):
        schema = read_json(path)
        _check_metaschema(path, schema)
        documents[path.name] = schema
    operations = read_json(directory / OPERATIONS_FILE)
    if not isinstance(operations, dict):
        raise SchemaError(Location(directory / OPERATIONS_FILE), "must be a JSON object")
    schema_set = SchemaSet(directory, documents, operations)
    registry = schema_set.registry()
    for name, schema in documents.items():
        _check_refs(directory / name, schema, schema["$id"], registry)
    _check_operations(directory, operations, schema_set)
    return schema_set

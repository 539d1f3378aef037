"""The fast path: msgspec types compiled from the schemas accept valid documents at parse speed.

msgspec decodes JSON straight into typed structs and checks types, bounds, patterns and constants
while it parses. The compiled types are *conservative*: they accept a document only if the schema
does. Whatever they reject goes to the precise validator, which has the last word and writes the
error messages (for example, ``12.0`` is an integer to JSON Schema but not to msgspec, so such a
document takes the slow path and still passes). A schema keyword this compiler does not know makes
it refuse the whole kind (``Unsupported``); that kind then always takes the precise path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

import msgspec

from rooms_kit.schemas import SchemaSet
from rooms_kit.schemas.patterns import ecma_to_python
from rooms_kit.validation.encoding import is_utf8

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "title", "description", "default", "format", "x-enumDescriptions"}
)
_HANDLED = frozenset(
    {"type", "$ref", "properties", "items", "const", "enum", "pattern", "minimum", "maximum"}
)


class Unsupported(Exception):
    """The schema uses something the fast path cannot express exactly."""


class _Compiler:
    def __init__(self, schemas: SchemaSet, *, strict: bool) -> None:
        self._schemas = schemas
        self._strict = strict
        self._registry = schemas.registry()
        self._structs: dict[str, type[msgspec.Struct]] = {}

    def struct_for(self, uri: str) -> type[msgspec.Struct]:
        if uri not in self._structs:
            schema = self._registry.contents(uri)
            kind = schema.get("properties", {}).get("kind", {}).get("const")
            self._structs[uri] = self._object(schema, uri, kind, _class_name(kind or uri))
        return self._structs[uri]

    def _object(
        self, schema: Mapping[str, Any], base: str, kind: str | None, name: str
    ) -> type[msgspec.Struct]:
        _check_keywords(schema)
        if schema.get("type") != "object":
            raise Unsupported(f"{base}: not an object schema")
        fields: list[tuple[str, Any, Any]] = []
        for prop, sub in schema.get("properties", {}).items():
            if prop == "kind" and kind is not None:
                continue  # carried as the struct's tag
            fields.append(
                (prop, self._type(sub, base, f"{name}_{prop}") | msgspec.UnsetType, msgspec.UNSET)
            )
        # gc=False: the decoded structs are thrown away at once and never form cycles.
        options: dict[str, Any] = {"forbid_unknown_fields": self._strict, "gc": False}
        if kind is not None:
            options.update(tag_field="kind", tag=kind)
        return msgspec.defstruct(name, fields, **options)

    def _type(self, schema: Mapping[str, Any], base: str, name: str) -> Any:
        _check_keywords(schema)
        if "$ref" in schema:
            ref = schema["$ref"]
            if set(schema) - _ANNOTATIONS - {"$ref"}:
                raise Unsupported(f"{base}: $ref with sibling constraints")
            resolved = self._registry.resolver(base_uri=base).lookup(ref)
            target_uri = ref if "://" in ref else _join(base, ref)
            if "#" not in ref:
                return self.struct_for(target_uri)
            return self._type(resolved.contents, target_uri.partition("#")[0], name)
        kind = schema.get("type")
        if "enum" in schema:
            values = schema["enum"]
            if kind != "string" or not all(isinstance(v, str) for v in values):
                raise Unsupported(f"{base}: enum of non-strings")
            return Literal[tuple(values)]
        if "const" in schema:
            raise Unsupported(f"{base}: const outside kind")
        if kind == "string":
            if "pattern" in schema:
                return Annotated[str, msgspec.Meta(pattern=_fast_pattern(schema))]
            return str
        if kind == "boolean":
            return bool
        if kind == "integer":
            return Annotated[int, msgspec.Meta(ge=schema.get("minimum"), le=schema.get("maximum"))]
        if kind == "array":
            return list[self._type(schema["items"], base, name)]  # type: ignore[misc]
        if kind == "object":
            return self._object(schema, base, None, name)
        raise Unsupported(f"{base}: type {kind!r}")


# Canonical int64 strings of at most 18 digits are always in range. Matching this short pattern is
# cheaper than the exact-range pattern of the schema; 19-digit values take the precise path.
SHORT_INT64 = r"^(?:0|-?[1-9][0-9]{0,17})\Z"
_SHORT_INT64_EDGES = ("0", "-1", "1", "999999999999999999", "-999999999999999999")


def _fast_pattern(schema: Mapping[str, Any]) -> str:
    exact = ecma_to_python(schema["pattern"])
    if schema.get("format") == "int64":
        compiled = re.compile(exact)
        if all(compiled.search(edge) for edge in _SHORT_INT64_EDGES):
            return SHORT_INT64
    return exact


def _check_keywords(schema: Mapping[str, Any]) -> None:
    unknown = set(schema) - _ANNOTATIONS - _HANDLED
    if unknown:
        raise Unsupported(f"keywords {sorted(unknown)}")
    if ("minimum" in schema or "maximum" in schema) and schema.get("type") != "integer":
        raise Unsupported("bounds on a non-integer")


def _join(base: str, ref: str) -> str:
    from urllib.parse import urljoin  # noqa: PLC0415

    return urljoin(base, ref)


def _class_name(kind: str) -> str:
    tail = kind.rpartition("#")[2].rpartition("/")[2].removesuffix(".schema.json")
    return "".join(part[:1].upper() + part[1:] for part in tail.replace("-", "_").split("_"))


_LEADING_KIND = re.compile(rb'\s*\{\s*"kind"\s*:\s*"(games#[A-Za-z0-9]+)"')


def _leading_kind(raw: bytes) -> str | None:
    """The kind when it is the document's first member (the usual case), else None.

    Decoding with that kind's own struct skips the union's dispatch. It stays exact: the struct
    checks the tag wherever ``kind`` occurs, so a document that says otherwise later is rejected
    here and judged by the precise path.
    """
    found = _LEADING_KIND.match(raw)
    return found.group(1).decode() if found else None


class FastPath:
    """Compiled decoders: one per kind and one that picks the kind from the ``kind`` tag."""

    def __init__(self, schemas: SchemaSet, *, strict: bool) -> None:
        compiler = _Compiler(schemas, strict=strict)
        self.types: dict[str, type[msgspec.Struct]] = {}
        for kind, entry in sorted(schemas.kinds.items()):
            try:
                self.types[kind] = compiler.struct_for(entry.uri)
            except Unsupported:
                continue
        self.decoders = {kind: msgspec.json.Decoder(t) for kind, t in self.types.items()}
        members = tuple(self.types.values())
        self.any_kind = msgspec.json.Decoder(Union[members]) if members else None  # noqa: UP007

    def accepts(self, raw: bytes, kind: str | None) -> bool:
        """True only if the document is certainly valid; False means 'ask the precise path'.

        msgspec never looks at the bytes of a member it skips (one the struct does not declare),
        so invalid UTF-8 there would pass: the bytes are checked first (see ``encoding``).
        """
        if not raw.isascii() and not is_utf8(raw):
            return False
        if kind is None:
            kind = _leading_kind(raw)
        decoder = self.any_kind if kind is None else self.decoders.get(kind)
        if decoder is None:
            return False
        try:
            decoder.decode(raw)
        except Exception:
            return False
        return True

    def accepts_object(self, document: Any, kind: str) -> bool:
        """The same check for an already parsed document."""
        target = self.types.get(kind)
        if target is None:
            return False
        try:
            msgspec.convert(document, target, strict=True)
        except Exception:
            return False
        return True

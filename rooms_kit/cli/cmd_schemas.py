"""``rooms-kit schemas`` and ``rooms-kit example``: list kinds, show a schema, print an example."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    schemas = subparsers.add_parser(
        "schemas", help="list the kinds, or show one schema", description="List the games# kinds."
    )
    nested = schemas.add_subparsers(dest="schemas_command", metavar="ACTION")
    show = nested.add_parser("show", help="print the JSON Schema of one kind")
    show.add_argument("kind", help="kind name, e.g. room or games#room")
    show.add_argument(
        "--strict", action="store_true", help="show it with unknown properties closed"
    )
    schemas.set_defaults(handler=_run_schemas)

    example = subparsers.add_parser("example", help="print a valid example payload of a kind")
    example.add_argument("kind", help="kind name, e.g. room or games#room")
    example.set_defaults(handler=_run_example)


def _run_schemas(args: argparse.Namespace) -> int:
    from rooms_kit.schemas import load_schemas  # noqa: PLC0415 - needs the [validate] extra

    schema_set = load_schemas()
    if args.schemas_command == "show":
        entry = schema_set.kind(args.kind)
        contents: Any = schema_set.registry(strict=args.strict).contents(entry.uri)
        print(json.dumps(contents, indent=2, ensure_ascii=False))
        return 0
    kinds = schema_set.kind_names()
    width = max(len(k) for k in kinds)
    files = max(len(schema_set.kinds[k].file.name) for k in kinds)  # columns line up
    for kind in kinds:
        entry = schema_set.kinds[kind]
        print(f"{kind:<{width}}  {entry.file.name:<{files}}  {entry.schema.get('title', '')}")
    return 0


def _run_example(args: argparse.Namespace) -> int:
    from rooms_kit.schemas import load_schemas  # noqa: PLC0415 - needs the [validate] extra

    schema_set = load_schemas()
    entry = schema_set.kind(args.kind)
    path = schema_set.directory / "examples" / "valid" / entry.file.name.replace(".schema", "")
    print(path.read_text(encoding="utf-8"), end="")
    return 0

"""``rooms-kit schemas``, ``rooms-kit schemas show`` and ``rooms-kit example``."""

from __future__ import annotations

import json

import pytest

from rooms_kit.schemas import SchemaSet
from tests.cli.conftest import Run


def test_schemas_lists_every_kind_with_file_and_title(rooms_kit: Run, schemas: SchemaSet) -> None:
    done = rooms_kit("schemas")
    assert done.returncode == 0
    rows = [line.split() for line in done.stdout.splitlines()]
    assert [row[0] for row in rows] == schemas.kind_names()
    assert rows[schemas.kind_names().index("games#room")][1:] == ["room.schema.json", "Room"]


def test_schemas_show_prints_the_schema(rooms_kit: Run, schemas: SchemaSet) -> None:
    shown = json.loads(rooms_kit("schemas", "show", "room").stdout)
    assert shown == schemas.kind("room").schema
    strict = json.loads(rooms_kit("schemas", "show", "games#room", "--strict").stdout)
    assert strict["additionalProperties"] is False
    assert "additionalProperties" not in shown


def test_schemas_show_unknown_kind(rooms_kit: Run) -> None:
    done = rooms_kit("schemas", "show", "lobby")
    assert done.returncode == 2
    assert "unknown kind 'lobby'; known kinds: games#aggregateStats" in done.stderr


@pytest.mark.parametrize("kind", ["room", "games#roomP2PStatus", "player", "roomList"])
def test_example_is_valid_in_strict_mode(rooms_kit: Run, kind: str) -> None:
    example = rooms_kit("example", kind)
    assert example.returncode == 0
    assert json.loads(example.stdout)["kind"].endswith(kind.removeprefix("games#"))
    checked = rooms_kit("validate", "--strict", "-", stdin=example.stdout.encode())
    assert checked.returncode == 0, checked.stdout


def test_example_unknown_kind(rooms_kit: Run) -> None:
    assert rooms_kit("example", "lobby").returncode == 2


def test_no_command_is_a_usage_error(rooms_kit: Run) -> None:
    done = rooms_kit()
    assert done.returncode == 2
    assert "usage: rooms-kit" in done.stderr


def test_schemas_lines_up_its_columns(rooms_kit: Run, schemas: SchemaSet) -> None:
    # the longest file name (room-auto-matching-criteria.schema.json) pushed its title out of line
    lines = rooms_kit("schemas").stdout.splitlines()
    files = {line.index(" " + schemas.kinds[line.split()[0]].file.name) for line in lines}
    titles = {line.index(schemas.kinds[line.split()[0]].schema["title"]) for line in lines}
    assert (len(files), len(titles)) == (1, 1), lines

"""The words ``validate`` prints for documents that are not objects and for a misspelt kind."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Run


def test_an_array_of_values_that_are_not_objects(rooms_kit: Run, tmp_path: Path) -> None:
    path = tmp_path / "values.json"
    path.write_text('[1,"x",null]')
    done = rooms_kit("validate", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[:-1] == [
        f"{path}:1: (root): [type] expected a games# object, got {got}; expected object"
        for got in ("integer 1", 'string "x"', "null")
    ]


def test_a_misspelt_kind_is_sent_to_the_closest_kind(rooms_kit: Run, tmp_path: Path) -> None:
    path = tmp_path / "status.ndjson"
    path.write_text('{"kind":"games#roomP2PStatuss"}\n{"kind":"games#roomP2PStatuse"}\n')
    done = rooms_kit("validate", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[:-1] == [
        f'{path}:1: games#roomP2PStatuss /kind: [kind] unknown kind "games#roomP2PStatuss" '
        "(did you mean games#roomP2PStatus?); expected a games# kind",
        f'{path}:2: games#roomP2PStatuse /kind: [kind] unknown kind "games#roomP2PStatuse" '
        "(did you mean games#roomP2PStatuses?); expected a games# kind",
    ]

"""The wheel's file list and metadata: one namespace, ranges, extras, the files users rely on."""

from __future__ import annotations

import re
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

EXTRAS = {"validate", "server", "postgres", "contract", "generate", "all", "dev"}


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def _metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode("utf-8"))


def test_every_top_level_name_is_namespaced(wheel: Path) -> None:
    tops = {name.split("/", 1)[0] for name in _names(wheel)}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert len(dist_info) == 1
    assert tops - dist_info == {"rooms_kit", "rooms_api"}


@pytest.mark.parametrize(
    "path",
    [
        "rooms_kit/py.typed",
        "rooms_kit/__main__.py",
        "rooms_kit/codegen/__init__.py",
        "rooms_kit/_bundled/schemas/operations.json",
        "rooms_kit/_bundled/schemas/room.schema.json",
        "rooms_kit/_bundled/docs/room-lifecycle.md",
        "rooms_api/py.typed",
        "rooms_api/client.py",
        "rooms_api/openapi.json",
    ],
)
def test_the_files_users_rely_on_are_inside(wheel: Path, path: str) -> None:
    assert path in _names(wheel)


def test_templates_and_license_are_inside_and_tests_are_not(wheel: Path) -> None:
    names = _names(wheel)
    assert any(re.fullmatch(r"rooms_kit/codegen/templates/client\.py\.jinja", n) for n in names)
    assert any(re.fullmatch(r"[^/]+\.dist-info/licenses/LICENSE", n) for n in names)
    assert not [n for n in names if n.startswith(("tests/", "generator/", "generated/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_metadata_has_ranges_extras_and_a_pip_install_summary(wheel: Path) -> None:
    meta = _metadata(wheel)
    assert meta["Name"] == "games-rooms-kit"
    assert meta["Summary"].startswith("pip install games-rooms-kit")
    assert meta["License-Expression"] == "Apache-2.0"
    assert set(meta.get_all("Provides-Extra") or []) == EXTRAS
    requirements = meta.get_all("Requires-Dist") or []
    base = [r for r in requirements if "extra ==" not in r]
    assert {re.split(r"[<>=\[ ]", r, maxsplit=1)[0] for r in base} == {
        "pydantic", "httpx", "h11",
    }  # fmt: skip
    for requirement in requirements:
        if requirement.startswith("games-rooms-kit["):
            continue  # an extra that includes other extras
        spec = requirement.split(";", 1)[0]
        assert "==" not in spec, requirement
        assert ">=" in spec, requirement
    heavy = {"schemathesis", "ruff", "datamodel-code-generator", "starlette", "uvicorn", "jinja2"}
    for requirement in base:
        assert requirement.split(">", 1)[0] not in heavy


def test_the_base_install_accepts_the_pydantic_users_already_have(wheel: Path) -> None:
    (pydantic,) = [
        r for r in _metadata(wheel).get_all("Requires-Dist") or [] if r.startswith("pydantic")
    ]
    lower = re.search(r">=([0-9.]+)", pydantic)
    upper = re.search(r"<([0-9.]+)", pydantic)
    assert lower and upper
    as_tuple = lambda text: tuple(int(p) for p in text.split("."))  # noqa: E731
    assert as_tuple(lower.group(1)) <= (2, 12, 5) < as_tuple(upper.group(1))

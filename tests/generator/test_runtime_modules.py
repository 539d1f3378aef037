"""Static runtime code lives in real .py files and reaches the generated package unchanged."""

from __future__ import annotations

import re

import pytest

from rooms_kit.codegen import OUTPUT_DIR
from rooms_kit.codegen.emit.jinja import TEMPLATES
from rooms_kit.codegen.emit.pipeline import (
    CLIENT_TEMPLATE,
    PYTHON_HEADER,
    PYTHON_TEMPLATES,
    RUNTIME,
    STATIC_MODULES,
)

GENERATED = OUTPUT_DIR / "rooms_api"


@pytest.mark.parametrize("name", STATIC_MODULES)
def test_static_modules_are_copied_verbatim(name: str) -> None:
    source = (RUNTIME / name).read_text(encoding="utf-8")
    assert (GENERATED / name).read_text(encoding="utf-8") == PYTHON_HEADER + source


def test_every_runtime_file_is_shipped() -> None:
    files = {p.name for p in RUNTIME.glob("*.py")} - {"__init__.py"}
    assert files == set(STATIC_MODULES)


def test_every_template_depends_on_the_schemas() -> None:
    """A template that only prints the header would be static code hidden from ruff and mypy."""
    for template in sorted(TEMPLATES.glob("*.jinja")):
        text = template.read_text(encoding="utf-8").replace("{{ header }}", "")
        assert re.search(r"\{\{|\{%", text), template.name
    used = set(PYTHON_TEMPLATES) | {CLIENT_TEMPLATE}
    assert {t.name for t in TEMPLATES.glob("*.jinja")} == used


def test_both_clients_come_from_one_template() -> None:
    assert "async_client.py.jinja" not in {t.name for t in TEMPLATES.glob("*.jinja")}
    blocking = (GENERATED / "client.py").read_text(encoding="utf-8")
    concurrent = (GENERATED / "async_client.py").read_text(encoding="utf-8")
    methods = re.findall(r"^    def (\w+)\(", blocking, flags=re.MULTILINE)
    awaited = re.findall(r"^    async def (\w+)\(", concurrent, flags=re.MULTILINE)
    assert methods == awaited and len(methods) == 10

"""The template environment is strict and templates stay printers."""

from __future__ import annotations

import re

import pytest
from jinja2 import UndefinedError

from rooms_kit.codegen.emit.jinja import TEMPLATES, environment


def test_undefined_names_are_errors() -> None:
    template = environment().from_string("{{ missing }}")
    with pytest.raises(UndefinedError):
        template.render()


def test_environment_settings() -> None:
    env = environment()
    assert (env.trim_blocks, env.lstrip_blocks, env.keep_trailing_newline) == (True, True, True)


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.jinja")), ids=lambda p: p.name)
def test_templates_only_print(path: object) -> None:
    text = path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    tags = re.findall(r"{%-?\s*(\w+)", text)
    assert set(tags) <= {"for", "endfor"}, path  # no conditionals: the view prepares the lines
    for expression in re.findall(r"{{(.*?)}}", text):
        assert not re.search(r"\b(if|else|or|and|not)\b|[|(]", expression), expression

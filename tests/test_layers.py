"""ARCHITECTURE.md's "Layers and imports", held by the code: every import of every hand-written
module (lazy ones inside functions included, type-only ones too) is read with ``ast`` and checked
against the rules below, which restate the table's "never" parts. A new import that breaks a
layer fails here with the file, the line and the rule; change the table and this test together.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import rooms_kit

PACKAGE = Path(rooms_kit.__file__).parent
RUNTIME = PACKAGE / "codegen" / "runtime"
"""Static modules of the generated package, copied into ``rooms_api``: not the kit's layers."""

HTTP = ("rooms_api", "starlette", "uvicorn", "httpx", "h11", "httptools", "pydantic")
BEHAVIOUR = tuple(
    f"rooms_kit.reference_server.{name}"
    for name in (
        "state", "wording", "leave_reasons", "parsing", "rendering", "policy", "paging",
        "storage", "sqlite_store", "service", "auth",
    )
)  # fmt: skip
BELOW_HTTP = tuple(
    f"rooms_kit.reference_server.{name}"
    for name in (
        "group_commit",
        "hand_over",
        "on_loop",
        "postgres_loop",
        "postgres_watch",
        "postgres_wire",
    )
)
ABOVE_SCHEMAS = ("rooms_kit.validation", "rooms_kit.codegen", "rooms_kit.contract")
APPLICATIONS = ("rooms_kit.reference_server", "rooms_kit.traffic", "rooms_kit.cli")


@dataclass(frozen=True)
class Rule:
    """Modules named ``layer`` (or below it) never import what ``never`` names (or below)."""

    layer: str | tuple[str, ...]
    never: tuple[str, ...]
    why: str
    stdlib_only: bool = False


RULES = [
    Rule("rooms_kit.errors", (), "the standard library only", stdlib_only=True),
    Rule("rooms_kit.formats", (), "the standard library only", stdlib_only=True),
    Rule("rooms_kit.codegen.model", (), "the standard library only", stdlib_only=True),
    Rule("rooms_kit.schemas", ABOVE_SCHEMAS + APPLICATIONS, "the lowest layer above errors"),
    Rule(
        "rooms_kit.validation",
        ("rooms_kit.codegen", "rooms_kit.contract", *APPLICATIONS),
        "below codegen, the contract engine and the applications",
    ),
    Rule(
        "rooms_kit.codegen",
        ("rooms_kit.contract", "rooms_kit.validation", *APPLICATIONS, "rooms_api"),
        "builds from the schemas alone and never imports what it generates",
    ),
    Rule(
        "rooms_kit.contract",
        ("rooms_kit.codegen", *APPLICATIONS, "rooms_api"),
        "reads the OpenAPI document as data, never the generated package",
    ),
    Rule(
        "rooms_kit.reference_server",
        ("rooms_kit.codegen", "rooms_kit.contract", "rooms_kit.traffic", "rooms_kit.cli"),
        "the server knows nothing of the tools built around it",
    ),
    Rule(BEHAVIOUR, HTTP, "the behaviour modules know nothing of HTTP or the generated stub"),
    Rule(
        BELOW_HTTP,
        (*HTTP, "rooms_kit.reference_server.service"),
        "hand-overs and connections: no HTTP, no service",
    ),
    Rule("rooms_kit.traffic", ("rooms_kit.codegen", "rooms_kit.cli"), "below the command line"),
]


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``path``, relative ones resolved."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # ``from package import module`` imports the module too: name it, or a breach
            # written as ``from rooms_kit import cli`` would pass for an import of rooms_kit.
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names if a.name != "*"]
    return found


def _under(name: str, prefixes: str | tuple[str, ...]) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _sources() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if RUNTIME not in p.parents]


def _breaches(rule: Rule) -> list[str]:
    breaches = []
    for path in _sources():
        module = _module(path)
        if not _under(module, rule.layer):
            continue
        reported: set[int] = set()
        for line, name in _imports(path):
            if line in reported:
                continue  # one breach a line: ``from rooms_api import x`` is rooms_api's
            top = name.split(".")[0]
            if rule.stdlib_only:
                wrong = top != "__future__" and top not in sys.stdlib_module_names
                wrong = wrong and not _under(name, rule.layer)
            else:
                wrong = _under(name, rule.never)
            if wrong:
                reported.add(line)
                breaches.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    return breaches


@pytest.mark.parametrize("rule", RULES, ids=[str(rule.layer) for rule in RULES])
def test_each_layer_imports_only_what_the_table_allows(rule: Rule) -> None:
    assert _breaches(rule) == [], rule.why


def test_only_the_command_line_imports_the_command_line() -> None:
    breaches = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in _sources()
        if not _under(_module(path), ("rooms_kit.cli", "rooms_kit.__main__"))
        for line, name in _imports(path)
        if _under(name, "rooms_kit.cli")
    ]
    assert breaches == [], "the command line is the top layer"


def test_the_rules_catch_a_breach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself: a behaviour module that imports the stub, lazily inside a function
    and through a relative import, is reported with its line."""
    package = tmp_path / "rooms_kit"
    (package / "reference_server").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "reference_server" / "__init__.py").write_text("")
    (package / "reference_server" / "service.py").write_text(
        "from . import state\n\ndef f():\n    from rooms_api._stub import clip\n    return clip\n"
    )
    (package / "reference_server" / "hand_over.py").write_text(
        "from rooms_kit.reference_server import service\n"
    )
    (package / "schemas").mkdir()
    (package / "schemas" / "__init__.py").write_text("")
    (package / "schemas" / "walk.py").write_text("from .. import validation\n")
    (package / "errors.py").write_text("import json\nimport orjson\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    monkeypatch.setattr(sys.modules[__name__], "RUNTIME", package / "codegen" / "runtime")
    assert _breaches(next(r for r in RULES if r.layer == BEHAVIOUR)) == [
        "rooms_kit/reference_server/service.py:4 imports rooms_api._stub"
    ]
    assert _breaches(next(r for r in RULES if r.layer == BELOW_HTTP)) == [
        "rooms_kit/reference_server/hand_over.py:1 imports rooms_kit.reference_server.service"
    ]
    assert _breaches(next(r for r in RULES if r.layer == "rooms_kit.schemas")) == [
        "rooms_kit/schemas/walk.py:1 imports rooms_kit.validation"
    ]
    assert _breaches(next(r for r in RULES if r.layer == "rooms_kit.errors")) == [
        "rooms_kit/errors.py:2 imports orjson"
    ]

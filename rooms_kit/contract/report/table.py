"""The summary table shared by the text and HTML reports: checks down, operations across."""

from __future__ import annotations

from rooms_kit.contract.results import Results

OPERATION_PREFIX = "games.rooms."


def short(operation: str) -> str:
    return operation.removeprefix(OPERATION_PREFIX)


def cell(results: Results, operation: str, check: str) -> str:
    """``12`` passes, ``✗3/12`` three failures of twelve, ``·`` nothing checked."""
    passed = results.passed[(operation, check)]
    failed = results.failed[(operation, check)]
    if failed:
        return f"✗{failed}/{passed + failed}"
    return str(passed) if passed else "·"


def rows(results: Results) -> tuple[list[str], list[list[str]]]:
    """Header (``check`` then the operations) and one row per check."""
    operations = results.operations()
    header = ["check", *(short(op) for op in operations)]
    body = [[check, *(cell(results, op, check) for op in operations)] for check in results.checks()]
    return header, body

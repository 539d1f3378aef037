"""One defect reads as one problem: failures are kept by check and stable code, and grouped into
root causes that the reports lead with."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from rooms_kit.contract import Target, run_suite
from rooms_kit.contract.failures import ContractFailure, Finding
from rooms_kit.contract.report import render_html, render_junit, render_text
from rooms_kit.contract.results import Results, UnitResult
from tests.contract.broken_variants.rewriting import Answer, Call, Rewriter
from tests.contract.broken_variants.variants import Int64AsNumber, ServerErrorOnClientMistake

TOKENS = ["dev-alice", "dev-bob"]
INT64_CHECKS = ["int64_strings", "openapi_response_schema", "strict_schema"]


def _run(variant: type[Rewriter]) -> Results:
    app = variant()
    try:
        return run_suite(Target.asgi(app), TOKENS, phases=("negative", "scenarios"))
    finally:
        app.close()


@pytest.fixture(scope="module")
def int64_results() -> Results:
    return _run(Int64AsNumber)


def test_int64_as_number_is_one_root_cause(int64_results: Results) -> None:
    causes = int64_results.root_causes()
    assert len(causes) == 1, [cause.title for cause in causes]
    cause = causes[0]
    assert cause.title.startswith("RoomModification.modifiedTimestampMillis: ")
    assert cause.checks == INT64_CHECKS
    assert "games.rooms.list" in cause.operations and "games.rooms.create" in cause.operations
    assert "/creationDetails/modifiedTimestampMillis" in cause.fields
    assert "/items/*/creationDetails/modifiedTimestampMillis" in cause.fields
    assert cause.exchange is not None


def test_failures_are_kept_once_per_check_operation_and_code(int64_results: Results) -> None:
    keys = [(f.check, f.operation, f.code) for f in int64_results.failures]
    assert len(keys) == len(set(keys))
    per_operation = {(f.check, f.operation) for f in int64_results.failures}
    assert len(per_operation) == len(int64_results.failures)  # one field: one record each


def test_reports_lead_with_the_root_causes(int64_results: Results) -> None:
    text = render_text(int64_results)
    assert text.index("ROOT CAUSE 1: RoomModification.modifiedTimestampMillis") < text.index(
        "check  "
    )
    assert "NOT CONFORMANT: 1 root cause(s) behind" in text
    assert "seen by: int64_strings, openapi_response_schema, strict_schema" in text
    suites = ET.fromstring(render_junit(int64_results)).findall("testsuite")
    assert suites[0].get("name") == "root causes"
    assert len(suites[0].findall("testcase")) == 1
    html = render_html(int64_results)
    assert html.index("Root cause 1: RoomModification") < html.index("<table>")


def test_a_server_error_explains_what_else_failed_on_that_answer() -> None:
    causes = _run(ServerErrorOnClientMistake).root_causes()
    assert [cause.title for cause in causes] == [
        "server error 500 (a 5xx answer, whatever the request)"
    ]
    assert causes[0].checks == ["not_a_server_error", "rejects_invalid_input"]


def test_the_code_not_the_message_tells_failures_apart() -> None:
    results = Results(seed=1, profile="smoke", target="t")
    unit = UnitResult("u", "fuzz")
    finding = Finding("Room.x", "/x", "type", "1 is not of type 'string'")
    for count in (1, 3):
        failure = ContractFailure(
            "int64_strings", f"{count} int64 field(s) not sent", findings=(finding,)
        )
        results.record_failure(failure, "games.rooms.get", unit, None)
    other = Finding("Room.y", "/y", "type", "2 is not of type 'string'")
    results.record_failure(
        ContractFailure("int64_strings", "1 int64 field(s) not sent", findings=(other,)),
        "games.rooms.get",
        unit,
        None,
    )
    assert [(f.code, f.occurrences) for f in results.failures] == [("/x type", 2), ("/y type", 1)]
    assert [cause.title.split(":")[0] for cause in results.root_causes()] == ["Room.x", "Room.y"]


class SameTokenForever(Rewriter):
    """``list`` ignores ``pageToken`` (so it serves the first page again) and every page says
    there is another one, with the same token each time."""

    def request(self, call: Call) -> Call:
        call.query.pop("pageToken", None)
        return call

    def response(self, call: Call, answer: Answer) -> Answer:
        data = answer.json() if call.operation == "list" and answer.status == 200 else None
        if isinstance(data, dict):
            data["nextPageToken"] = "SAME-TOKEN-FOREVER"
            answer.set_json(data)
        return answer


def test_a_paging_loop_is_one_problem_whatever_the_counts() -> None:
    """Pages repeat different numbers of rooms from scenario to scenario; the failure is kept
    by its code, so the counts in its title do not make several problems of one."""
    results = _run(SameTokenForever)
    paging = [f for f in results.failures if f.check == "paging_complete"]
    codes = [(f.operation, f.code) for f in paging]
    assert ("games.rooms.list", "repeated items") in codes
    assert len(codes) == len(set(codes)) and {code for _, code in codes} <= {
        "repeated items",
        "repeated token",
    }
    assert sum(f.occurrences for f in paging) > len(paging)  # several loops, counted, not repeated
    assert all("pageToken chain: (first page) → 'SAME-TOKEN-FOREVER'" in f.message for f in paging)

"""Google's own client drives real traffic through the proxy: clean against the reference server,
the defect named against each broken variant whose defect traffic can show."""

from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from rooms_kit.reference_server.app import create_reference_app
from tests.contract.broken_variants import CATALOGUE, Variant
from tests.contract.broken_variants.variants import WrongKind
from tests.traffic.support import SCENARIO_TOKENS, LoopbackServer, proxy_in_front_of, scenario

# What the proxy names for each variant (its own rule where the suite's needs a scenario).
SEEN_AS: dict[str, str] = {
    "int64_as_number": "int64_strings",
    "wrong_kind": "strict_schema",
    "bad_enum_value": "openapi_response_schema",
    "unknown_property": "strict_schema",
    "server_error_on_client_mistake": "not_a_server_error",
    "error_without_envelope": "error_envelope",
    "mismatched_error_code": "error_envelope",
    "plain_text_content_type": "json_content_type",
    "create_ignores_request_id": "create_idempotent",
    "version_stuck_at_one": "status_version_monotonic",
    "join_deleted_room_allowed": "deleted_room_final",
    "strangers_may_read": "participants_only",
    "missing_auth_accepted": "requires_credentials",
    "dismiss_ignored": "dismiss_hides_invitation",
    "accepts_out_of_range_max_results": "rejects_invalid_input",
    "join_answers_another_room_id": "room_id_matches",
    "create_accepts_any_body": "rejects_invalid_input",
    "never_active": "room_lifecycle",
    "paging_loses_items": "paging_complete",  # dave's full first page is the last one
    "paging_starts_over": "paging_complete",  # dave's walk is served the first page again
}


def test_every_variant_is_caught() -> None:
    assert set(SEEN_AS) == {variant.name for variant in CATALOGUE}


@pytest.mark.parametrize("strict", [False, True], ids=["forwarding", "strict"])
def test_reference_server_traffic_has_no_violation(strict: bool) -> None:
    app = create_reference_app(":memory:", dev_tokens=True)
    try:
        with (
            LoopbackServer(app) as upstream,
            proxy_in_front_of(upstream.url, strict=strict) as proxy,
        ):
            run = scenario(proxy.url)
    finally:
        app.close()
    assert proxy.lines() == []
    assert proxy.monitor.violations == 0
    assert proxy.monitor.exchanges == len(run.steps)
    # The client saw the reference server's answers unchanged, errors included.
    failed = run.failed()
    assert set(failed) == {"eve peeks", "carol joins too late", "bad create"}
    assert all(isinstance(exc, HttpError) for exc in failed.values())
    assert [failed[k].resp.status for k in sorted(failed)] == [400, 409, 404]
    assert json.loads(failed["eve peeks"].content)["error"]["errors"][0]["reason"] == "notFound"
    assert run.steps["create again"]["roomId"] == run.steps["create"]["roomId"]
    assert run.steps["no token"] == 401
    assert run.steps["maxResults 0"] == 400
    checked = sum(proxy.monitor.results.passed.values())
    assert checked >= 7 * (len(run.steps) - 2)  # every check ran on every API exchange


@pytest.mark.parametrize(
    "variant",
    [v for v in CATALOGUE if v.name in SEEN_AS],
    ids=lambda v: v.name,
)
def test_broken_variant_is_named(variant: Variant) -> None:
    rewriter = variant.build()
    try:
        with LoopbackServer(rewriter) as upstream, proxy_in_front_of(upstream.url) as proxy:
            scenario(proxy.url)
    finally:
        rewriter.close()
    expected = SEEN_AS[variant.name]
    assert expected in proxy.checks(), proxy.lines()
    assert any(f"[{expected}]" in line for line in proxy.lines())
    for line in proxy.lines():
        assert line.startswith("proxy:"), line
        # Tokens are never printed, only aliases. The scenario's tokens are named in full: a
        # random room id may hold "dev-" (one did, in a CI run).
        assert not any(token in line for token in SCENARIO_TOKENS), line


def test_strict_mode_turns_a_violating_answer_into_a_502_that_names_it() -> None:
    rewriter = WrongKind()
    try:
        with (
            LoopbackServer(rewriter) as upstream,
            proxy_in_front_of(upstream.url, strict=True) as proxy,
        ):
            run = scenario(proxy.url)
    finally:
        rewriter.close()
    refused = run.steps["create"]
    assert isinstance(refused, HttpError)
    assert refused.resp.status == 502
    error = json.loads(refused.content)["error"]
    assert error["code"] == 502
    assert {e["reason"] for e in error["errors"]} == {"contractViolation"}
    assert "[strict_schema]" in error["message"]
    assert any("games#rooms" in e["message"] for e in error["errors"])
    # answers that keep the contract pass unchanged in strict mode too
    assert run.steps["no token"] == 401
    assert "strict_schema" in proxy.checks()

"""Each deliberately broken variant is reported by the check meant for it, with evidence."""

from __future__ import annotations

import pytest

from rooms_kit.contract import Target, run_suite
from rooms_kit.contract.report import render_html, render_text
from tests.contract.broken_variants import CATALOGUE, Variant

TOKENS = ["dev-alice", "dev-bob", "dev-carol"]


def test_catalogue_is_large_and_names_distinct_defects() -> None:
    assert len(CATALOGUE) >= 10
    assert len({variant.name for variant in CATALOGUE}) == len(CATALOGUE)
    assert all(variant.defect for variant in CATALOGUE)


@pytest.mark.parametrize("variant", CATALOGUE, ids=lambda variant: variant.name)
def test_variant_is_caught_by_its_check(variant: Variant) -> None:
    app = variant.build()
    try:
        results = run_suite(Target.asgi(app), TOKENS, profile="smoke", phases=variant.phases)
    finally:
        app.close()
    assert variant.caught_by in results.failed_checks, render_text(results)
    record = next(f for f in results.failures if f.check == variant.caught_by)
    assert record.exchange is not None
    curl = record.exchange.curl()
    assert curl.startswith("curl ") and record.exchange.request.url in curl
    text = render_text(results)
    assert "NOT CONFORMANT" in text
    assert f"[{variant.caught_by}]" in text
    assert "reproduce: curl " in text
    html = render_html(results)
    assert f"[{variant.caught_by}]" in html
    assert "reproduce: curl " in html

"""The unmodified reference server passes the whole smoke profile, every check exercised."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from rooms_kit.contract import Results
from rooms_kit.contract.registry import names
from rooms_kit.contract.report import render_html, render_junit, render_text


def test_reference_server_has_no_failures(reference_results: Results) -> None:
    assert [
        f"[{f.check}] {f.operation}: {f.title} {f.message}" for f in reference_results.failures
    ] == []
    assert reference_results.ok


def test_every_check_ran_and_passed_at_least_once(reference_results: Results) -> None:
    ran = set(reference_results.checks())
    expected = {*names("response"), *names("behaviour"), "responds_in_time"}
    assert expected - ran == set()


def test_every_operation_was_called(reference_results: Results) -> None:
    assert len(reference_results.operations()) == 8


def test_text_report_names_seed_and_verdict(reference_results: Results) -> None:
    text = render_text(reference_results)
    assert f"seed {reference_results.seed}" in text
    assert "CONFORMANT:" in text
    assert "NOT CONFORMANT" not in text


def test_junit_report_parses_with_one_case_per_unit(reference_results: Results) -> None:
    root = ET.fromstring(render_junit(reference_results))
    cases = root.findall(".//testcase")
    assert len(cases) == len(reference_results.units)
    assert root.findall(".//failure") == []


def test_html_report_is_self_contained(reference_results: Results) -> None:
    html = render_html(reference_results)
    assert html.startswith("<!DOCTYPE html>")
    # Only the markup is looked at: the fuzzed requests shown (escaped) may hold any text,
    # "https://" or "src=" included, which fetches nothing.
    tags = re.findall(r"<[^>]*>", html)
    assert not [t for t in tags if t.startswith(("<script", "<link", "<img", "<iframe"))]
    assert not [t for t in tags if re.search(r"\b(src|href)\s*=|url\(|https?:", t)]
    styles = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert not [css for css in styles if re.search(r"url\(|@import|https?:", css)]

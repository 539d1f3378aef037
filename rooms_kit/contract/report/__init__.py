"""Reports of a run: a text summary (operations by checks and every failure), JUnit XML, HTML."""

from rooms_kit.contract.report.html import render_html
from rooms_kit.contract.report.junit import render_junit
from rooms_kit.contract.report.text import render_text

__all__ = ["render_html", "render_junit", "render_text"]

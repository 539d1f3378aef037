"""JUnit XML stays readable whatever a report quotes: XML 1.0 cannot hold NUL and most control
characters even as references, and ElementTree wrote them as they were (a body with a NUL made
junit.xml a file CI tools refuse)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from rooms_kit.contract.report.xml_text import xml_document


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\x00b", "a\\u0000b"),
        ("esc \x1b[31m", "esc \\u001b[31m"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
        ("\ufffe\uffff", "\\ufffe\\uffff"),
        ("tab\tline\nreturn\r kept", "tab\tline\nreturn\n kept"),  # XML readers fold \r
        ('<&> "quoted"', '<&> "quoted"'),
    ],
)
def test_every_text_gives_a_document_xml_readers_take(text: str, shown: str) -> None:
    root = ET.Element("testsuites", name=text)
    case = ET.SubElement(root, "testcase", name="x")
    ET.SubElement(case, "failure", message=text).text = text
    document = xml_document(root)
    parsed = ET.fromstring(document.encode("utf-8"))  # raised ParseError on a NUL before
    failure = parsed.find("testcase/failure")
    assert failure is not None
    assert failure.text == shown
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')

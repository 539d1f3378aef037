"""JUnit XML documents that every XML reader takes.

XML 1.0 has no way to write most control characters (NUL, ESC …), lone surrogates or U+FFFE and
U+FFFF, even as character references, and ElementTree writes them as they are: a report quoting
a body that held one was a file CI tools refuse to read. Such a character is written as the
visible text ``\\u0000`` instead, so the report still says what was there.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_document(root: ET.Element) -> str:
    """``root`` as a UTF-8 XML document (the declaration, then the element), indented."""
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + NOT_IN_XML.sub(_visible, text) + "\n"


def _visible(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"

"""Where Hypothesis keeps its files during a run: a private temporary folder, never the
working directory, removed when the process ends.

Hypothesis caches Unicode tables and constants under ``.hypothesis/`` in the current directory.
The suite points it elsewhere (unless ``HYPOTHESIS_STORAGE_DIRECTORY`` says where) and writes the
one table that is costly to build: the characters UTF-8 can encode. Building it walks every code
point into a list of 1.1 million pairs, which took a smoke run from about 105 MB to 294 MB peak;
the table itself is two intervals (every code point but the surrogates, all of which round-trip).
If a Hypothesis version reads it differently, it rebuilds it: slower, never wrong.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import unicodedata
from pathlib import Path

SURROGATES = (0xD800, 0xDFFF)
_home: tempfile.TemporaryDirectory[str] | None = None


def utf8_table() -> list[list[list[int]]]:
    """Encodable intervals and the (empty) intervals that do not round-trip, for UTF-8."""
    encodable = [[0, SURROGATES[0] - 1], [SURROGATES[1] + 1, sys.maxunicode]]
    return [encodable, []]


def use_private_home() -> Path:
    """Point Hypothesis at this process's own folder (made once) and return it."""
    global _home  # noqa: PLW0603 - one folder per process
    where = os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
    if where:
        return Path(where)
    if _home is None:
        from hypothesis.configuration import set_hypothesis_home_dir  # noqa: PLC0415

        _home = tempfile.TemporaryDirectory(prefix="rooms-kit-hypothesis-")
        home = Path(_home.name)
        set_hypothesis_home_dir(home)
        table = home / "unicode_data" / unicodedata.unidata_version / "codec-v2-utf-8.json.gz"
        table.parent.mkdir(parents=True)
        with gzip.GzipFile(table, "wb", mtime=1) as sink:
            sink.write(json.dumps(utf8_table()).encode())
    return Path(_home.name)

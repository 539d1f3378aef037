"""The ranges of the API's integer formats, in one place for every layer.

``int32`` values travel as JSON numbers; ``int64`` values travel as decimal strings, since a JSON
number that large loses precision in many readers. The generator writes these bounds into the
documents it emits, the validator and the contract checks hold payloads to them, and the
reference server parses request fields against them.
"""

from __future__ import annotations

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

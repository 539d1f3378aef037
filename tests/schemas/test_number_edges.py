"""int64 strings and int32 numbers accept exactly their ranges."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms_kit.schemas import SchemaSet, reference_validator

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _int64_ok(schemas: SchemaSet, value: object) -> bool:
    validator = reference_validator(schemas, "aggregateStats")
    return bool(validator.is_valid({"count": value}))


def _int32_ok(schemas: SchemaSet, value: object) -> bool:
    validator = reference_validator(schemas, "playerLevel")
    return bool(validator.is_valid({"level": value}))


@pytest.mark.parametrize(
    "value",
    ["0", "1", "-1", "12", "9223372036854775807", "-9223372036854775808", "1000000000000000000"],
)
def test_int64_accepts(schemas: SchemaSet, value: str) -> None:
    assert _int64_ok(schemas, value)


@pytest.mark.parametrize(
    "value",
    [
        "9223372036854775808",
        "-9223372036854775809",
        "10000000000000000000",
        "1.5",
        "12a",
        "",
        " 1",
        "1 ",
        "12\n",
        "+1",
        "-0",
        "007",
        "1e3",
        "\u0661\u0662",  # Arabic-Indic digits are digits to Python, not to JSON Schema
        12,
        None,
    ],
)
def test_int64_rejects(schemas: SchemaSet, value: object) -> None:
    assert not _int64_ok(schemas, value)


# No per-example deadline (Hypothesis's default is 200 ms): a timing assertion, which a loaded
# machine breaks, like every other property test here.
@settings(deadline=None)
@given(st.integers(min_value=INT64_MIN - 10**6, max_value=INT64_MAX + 10**6))
def test_int64_pattern_matches_the_range_exactly(value: int) -> None:
    from rooms_kit.schemas import load_schemas  # noqa: PLC0415

    assert _int64_ok(_SCHEMAS or load_schemas(), str(value)) == (INT64_MIN <= value <= INT64_MAX)


@settings(deadline=None)
@given(st.integers(min_value=-(10**25), max_value=10**25))
def test_int64_pattern_on_wide_range(value: int) -> None:
    from rooms_kit.schemas import load_schemas  # noqa: PLC0415

    assert _int64_ok(_SCHEMAS or load_schemas(), str(value)) == (INT64_MIN <= value <= INT64_MAX)


_SCHEMAS: SchemaSet | None = None


@pytest.fixture(autouse=True)
def _share(schemas: SchemaSet) -> None:
    global _SCHEMAS  # noqa: PLW0603 - hypothesis tests cannot take function-scoped fixtures
    _SCHEMAS = schemas


@pytest.mark.parametrize("value", [0, -1, 7, INT32_MAX, INT32_MIN, 12.0])
def test_int32_accepts(schemas: SchemaSet, value: object) -> None:
    assert _int32_ok(schemas, value)


@pytest.mark.parametrize("value", [INT32_MAX + 1, INT32_MIN - 1, 1.5, "7", True, None])
def test_int32_rejects(schemas: SchemaSet, value: object) -> None:
    assert not _int32_ok(schemas, value)

"""What the fuzz and stateful phases share: the Schemathesis view of ``openapi.json``, the
Hypothesis settings of a run, and sending a generated case as player A.

Importing this module imports Hypothesis; Schemathesis itself is imported on first use.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from rooms_kit.contract.context import SuiteContext
from rooms_kit.contract.http import Exchange
from rooms_kit.formats import INT64_MAX, INT64_MIN

INTEGER = re.compile(r"-?[0-9]+")
SCHEMATHESIS_CONFIG: dict[str, Any] = {
    "generation": {"allow-x00": False, "with-security-parameters": False},
    "phases": {"stateful": {"generation": {"mode": "positive"}}},
}


@cache
def load_schema(config_path: Path | None = None) -> Any:
    """The Schemathesis view of ``openapi.json``, with a generator for int64 strings.

    ``config_path`` is a ``schemathesis.toml`` (``contract_tests/`` has one); without it the
    suite's own defaults apply (``SCHEMATHESIS_CONFIG``).
    """
    import schemathesis  # noqa: PLC0415 - heavy, only needed when fuzzing
    from schemathesis.config import SchemathesisConfig  # noqa: PLC0415

    from rooms_kit.contract.openapi import openapi_path  # noqa: PLC0415

    schemathesis.openapi.format("int64", st.integers(INT64_MIN, INT64_MAX).map(str))
    if config_path is None:
        config = SchemathesisConfig.from_dict(SCHEMATHESIS_CONFIG)
    else:
        config = SchemathesisConfig.from_path(config_path)
    return schemathesis.openapi.from_path(str(openapi_path()), config=config)


def hypothesis_settings(examples: int, **extra: Any) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every request costs a round trip
        suppress_health_check=list(HealthCheck),
        **extra,
    )


def send_case(ctx: SuiteContext, case: Any, operation_id: str, body: Any = None) -> Exchange:
    """Send a Schemathesis case as player A (its own headers and credentials are dropped);
    ``body`` replaces the generated body when given."""
    if body is None:
        body = getattr(case, "body", None)
    has_body = body is not None and type(body).__name__ != "NotSet"
    raw = body if isinstance(body, bytes) else None
    return ctx.session.send(
        operation_id,
        case.method.upper(),
        case.formatted_path,
        token=ctx.players[0].token,
        query=dict(case.query or {}),
        body=body if has_body and raw is None else None,
        raw_body=raw,
    )

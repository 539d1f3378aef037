from __future__ import annotations

from collections.abc import Iterator

import pytest

from rooms_kit.contract import Results, Target, run_suite
from rooms_kit.reference_server.app import create_reference_app

TOKENS = ["dev-alice", "dev-bob", "dev-carol"]


@pytest.fixture(scope="session")
def reference_results() -> Iterator[Results]:
    """The smoke profile against the unmodified reference server, in process."""
    app = create_reference_app(":memory:", dev_tokens=True)
    try:
        yield run_suite(Target.asgi(app), TOKENS, profile="smoke")
    finally:
        app.close()

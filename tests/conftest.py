from __future__ import annotations

import os

import pytest
from hypothesis import settings

from rooms_kit.schemas import SchemaSet, load_schemas


@pytest.fixture(scope="session")
def schemas() -> SchemaSet:
    return load_schemas()


# CI runs property-based tests with a fixed derivation of examples, so a red build is reproducible;
# local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

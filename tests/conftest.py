from __future__ import annotations

import pytest

from rooms_kit.schemas import SchemaSet, load_schemas


@pytest.fixture(scope="session")
def schemas() -> SchemaSet:
    return load_schemas()

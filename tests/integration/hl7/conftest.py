"""The HL7 tests' world: the seeded centre on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.api.world import World
from tests.integration.hl7.worlds import BACKENDS, stored_world
from tests.pg_cluster import postgres_cluster  # noqa: F401  (a fixture)


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    yield from stored_world(request.param, request, tmp_path)

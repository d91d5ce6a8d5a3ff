"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from tests.e2e.api.world import World, build_world


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[tuple[World, Engine]]:
    """The synthetic centre on a migrated SQLite file, with its engine (disposed after)."""
    engine = create_engine_for(sqlite_url(tmp_path / "centre.db"))
    upgrade(engine)
    try:
        yield build_world(sql_unit_of_work_factory(engine)), engine
    finally:
        engine.dispose()

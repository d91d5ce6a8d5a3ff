"""Fixtures for the API tests: a seeded centre behind a TestClient, in memory and on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.bootstrap import build_unit_of_work_factory
from tests.e2e.api.security_worlds import WorldMaker, world_maker
from tests.e2e.api.world import World, build_world
from tests.pg_cluster import postgres_cluster  # noqa: F401  (a fixture)


def sqlite_world(directory: Path) -> World:
    return build_world(build_unit_of_work_factory(sqlite_url(directory / "api.db")))


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    """The seeded centre on the in-memory fake and on a SQLite file (WAL, synchronous=FULL)."""
    if request.param == "sqlite":
        return sqlite_world(tmp_path)
    return build_world()


@pytest.fixture
def memory_world() -> World:
    return build_world()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def make_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorldMaker]:
    """Users-and-tokens worlds on the fake, SQLite and PostgreSQL (``security_worlds.py``)."""
    yield from world_maker(request, tmp_path)

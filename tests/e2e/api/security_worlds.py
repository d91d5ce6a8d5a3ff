"""Worlds for the security tests: users and tokens only, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.web import Settings
from msinfusion.adapters.web.passwords import Argon2Hasher
from tests.e2e.api.world import World, build_world
from tests.pg_cluster import Cluster

BACKENDS = ("memory", "sqlite", "postgresql")
_names = itertools.count(1)


class CountingHasher:
    """argon2 (fast parameters) that counts password checks and takes a little while, so
    concurrent logins really overlap."""

    def __init__(self, delay_s: float = 0.01) -> None:
        self._inner = Argon2Hasher.fast()
        self._delay_s = delay_s
        self._lock = threading.Lock()
        self.checks = 0

    def hash(self, password: str) -> str:
        return self._inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.checks += 1
        time.sleep(self._delay_s)
        return self._inner.verify(password_hash, password)


WorldMaker = Callable[..., World]


def world_maker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorldMaker]:
    """``make(settings=..., hasher=...)`` building a users-only world on ``request.param``;
    every engine made is disposed of at the end of the test."""
    backend = request.param
    engines: list[Engine] = []

    def make(**options: object) -> World:
        factory = None
        if backend != "memory":
            engine = create_engine_for(database_url(backend, request, tmp_path))
            engines.append(engine)
            upgrade(engine)
            factory = sql_unit_of_work_factory(engine)
        settings = options.pop("settings", None) or Settings()
        return build_world(factory, clinical=False, settings=settings, **options)  # type: ignore[arg-type]

    yield make
    for engine in engines:
        engine.dispose()


def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of ``backend`` ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        return sqlite_url(tmp_path / f"s{next(_names)}.db")
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database(f"security_{next(_names)}")

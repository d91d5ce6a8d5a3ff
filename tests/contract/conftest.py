"""The back ends every contract test runs against: the in-memory fake, SQLite and PostgreSQL.

``uow_factory`` is parametrized over the three; each test gets an empty, migrated database
(SQLite: a copy of a file migrated once with the shipped Alembic migrations; PostgreSQL: one
migrated database in the session's throw-away cluster, emptied before each test).
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.storage.tables import metadata
from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.ports import UnitOfWork
from tests.pg_cluster import Cluster, postgres_cluster  # noqa: F401  (a fixture)

UnitOfWorkFactory = Callable[[], UnitOfWork]
BACKENDS = ("memory", "sqlite", "postgresql")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "msinfusion.db"
    engine = create_engine_for(sqlite_url(path))
    upgrade(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_engine(postgres_cluster: Cluster) -> Iterator[Engine]:  # noqa: F811
    engine = create_engine_for(postgres_cluster.create_database("contract"))
    upgrade(engine)
    yield engine
    engine.dispose()


def _empty_postgres(engine: Engine) -> None:
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def uow_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UnitOfWorkFactory]:
    """New units of work on an empty database of the parametrized back end."""
    if request.param == "memory":
        yield functools.partial(InMemoryUnitOfWork, InMemoryDatabase())
        return
    if request.param == "sqlite":
        path = tmp_path / "msinfusion.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = create_engine_for(sqlite_url(path))
        yield sql_unit_of_work_factory(engine)
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    _empty_postgres(engine)
    yield sql_unit_of_work_factory(engine)

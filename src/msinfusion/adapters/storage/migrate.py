"""Run the shipped Alembic migrations from code: no ``alembic.ini``, no ``env.py``.

``upgrade(engine)`` brings a database to the newest revision (``msinfusion db upgrade``);
``current_revision(engine)`` says where it is; ``head_revision()`` is the newest shipped one.
Each upgrade runs in one transaction (both SQLite and PostgreSQL have transactional DDL).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from msinfusion.adapters.storage.tables import metadata

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str | None:
    return _scripts().get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate to ``revision`` (default: the newest); returns the revision reached."""
    config = _config()
    scripts = ScriptDirectory.from_config(config)

    def steps(current: Any, _context: MigrationContext) -> Iterable[Any]:
        return scripts._upgrade_revs(revision, current)  # Alembic's own upgrade command does this

    with (
        engine.begin() as connection,
        EnvironmentContext(config, scripts, fn=steps, destination_rev=revision) as environment,
    ):
        environment.configure(connection=connection, target_metadata=metadata)
        with environment.begin_transaction():
            environment.run_migrations()
    return current_revision(engine)

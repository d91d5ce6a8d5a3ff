"""Durable storage: SQLAlchemy 2 tables, the SQL event store, repositories and migrations.

SQLite by default (a file in the user's data directory, WAL, ``synchronous=FULL``), PostgreSQL
via ``MSINFUSION_DATABASE_URL=postgresql+psycopg://…``; the same Alembic migrations serve both.
``SqlUnitOfWork`` implements ``msinfusion.application.ports.UnitOfWork``.
"""

from __future__ import annotations

from msinfusion.adapters.storage.engine import create_engine_for, data_directory, database_url
from msinfusion.adapters.storage.event_store import SqlEventStore
from msinfusion.adapters.storage.migrate import current_revision, head_revision, upgrade
from msinfusion.adapters.storage.unit_of_work import SqlUnitOfWork, sql_unit_of_work_factory

__all__ = [
    "SqlEventStore",
    "SqlUnitOfWork",
    "create_engine_for",
    "current_revision",
    "data_directory",
    "database_url",
    "head_revision",
    "sql_unit_of_work_factory",
    "upgrade",
]

"""Engines for SQLite (the embedded default) and PostgreSQL (production).

``database_url()`` is ``MSINFUSION_DATABASE_URL`` when set (``postgresql+psycopg://…``), else a
SQLite file in the user's data directory (``$XDG_DATA_HOME/msinfusion/msinfusion.db``, by
default ``~/.local/share/msinfusion/msinfusion.db``). Every SQLite connection runs in WAL mode
with ``synchronous=FULL`` (a commit is on disk before it returns), foreign keys on, and a busy
timeout so that concurrent writers wait for each other instead of failing. SQLite transactions
begin with ``BEGIN IMMEDIATE``: a unit of work takes the write lock when it starts, so a
read-then-append can never fail half-way with a stale snapshot. A connection with the
``READ_ONLY`` execution option (a read-only unit of work: authentication, for one) begins
``BEGIN DEFERRED`` instead: it reads a WAL snapshot and never waits for, or holds up, a writer.
The writers of one engine queue in arrival order on its ``FifoLock`` before ``BEGIN IMMEDIATE``
(``write_lock.py``), so they do not sleep in SQLite's busy handler while the lock is free.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

from msinfusion.adapters.storage.write_lock import FifoLock, QueuedWriterConnection

DATABASE_URL_VARIABLE = "MSINFUSION_DATABASE_URL"
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another one before giving up (30 s)."""

READ_ONLY = "msinfusion_read_only"
"""The execution option of a connection whose transactions only read."""

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)


def data_directory() -> Path:
    """``$XDG_DATA_HOME/msinfusion`` (default ``~/.local/share/msinfusion``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "msinfusion"


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite+pysqlite", database=str(path)).render_as_string()


def database_url(url: str | None = None) -> str:
    """``url``, else ``MSINFUSION_DATABASE_URL``, else the SQLite file in the data directory."""
    return (
        url
        or os.environ.get(DATABASE_URL_VARIABLE)
        or sqlite_url(data_directory() / "msinfusion.db")
    )


def create_engine_for(url: str | None = None, **options: Any) -> Engine:
    """An engine for ``database_url(url)``; SQLite's directory is created if missing."""
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **options)
    database = parsed.database or ""
    connect_args = {"check_same_thread": False, "factory": QueuedWriterConnection}
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args=connect_args, **options)
    else:
        engine = create_engine(parsed, connect_args=connect_args, poolclass=StaticPool, **options)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    write_lock = FifoLock()  # one per engine: its writers queue in arrival order

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        if isinstance(dbapi_connection, QueuedWriterConnection):
            dbapi_connection.write_lock = write_lock
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        dbapi_connection = connection.connection.dbapi_connection
        if not isinstance(dbapi_connection, QueuedWriterConnection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        dbapi_connection.hold_write_lock(BUSY_TIMEOUT_MS / 1000)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_connection.give_back_write_lock()
            raise

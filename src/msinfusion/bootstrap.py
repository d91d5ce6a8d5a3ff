"""The composition root: the only module that knows every concrete adapter.

Nothing happens at import; callers ask for what they need::

    >>> factory = build_unit_of_work_factory("memory")
    >>> with factory() as uow:
    ...     uow.events.version("session-1")
    0

``build_unit_of_work_factory(url)`` gives units of work on the SQL database at ``url`` (default:
``MSINFUSION_DATABASE_URL``, else the SQLite file in the user's data directory), migrated to the
newest revision when ``migrate`` is true, or — for ``url="memory"`` — on a fresh in-memory
database (tests, demos without a file). ``build_session_service`` gives the session use cases
over the same storage.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.live import LiveUpdates
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.session_service import ProtocolLookup, SessionService

MEMORY = "memory"
"""The ``url`` that selects the in-memory store."""

UnitOfWorkFactory = Callable[[], UnitOfWork]


def build_unit_of_work_factory(
    url: str | None = None, *, migrate: bool = True
) -> UnitOfWorkFactory:
    """Units of work on ``url`` (see the module docstring); SQL imports happen only here."""
    if url == MEMORY:
        return functools.partial(InMemoryUnitOfWork, InMemoryDatabase())
    # Imported here so that commands without a database never pay for SQLAlchemy's import.
    from msinfusion.adapters.storage import (  # noqa: PLC0415
        create_engine_for,
        sql_unit_of_work_factory,
        upgrade,
    )

    engine = create_engine_for(url)
    if migrate:
        upgrade(engine)
    return sql_unit_of_work_factory(engine)


def build_session_service(
    url: str | None = None,
    *,
    get_protocol: ProtocolLookup | None = None,
    migrate: bool = True,
) -> SessionService:
    """The session use cases, stored at ``url`` (as ``build_unit_of_work_factory``)."""
    return SessionService(
        get_protocol, unit_of_work=build_unit_of_work_factory(url, migrate=migrate)
    )


def build_live_updates(url: str | None = None) -> LiveUpdates:
    """The live-update bus for a server on ``url``; on PostgreSQL it is relayed to every other
    server process on the same database (LISTEN/NOTIFY), elsewhere it is in-process."""
    live = LiveUpdates()
    if url == MEMORY:
        return live
    from msinfusion.adapters.storage.engine import database_url  # noqa: PLC0415

    resolved = url or database_url()
    if resolved.startswith("postgresql"):
        from msinfusion.adapters.storage.live_relay import connect_live_updates  # noqa: PLC0415

        connect_live_updates(resolved, live)
    return live

"""An in-memory session run up to its infusion start, and the next vital signs on it."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import timedelta
from fractions import Fraction

from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from msinfusion.session import commands as cmd


def started_session(
    commands: Iterable[cmd.Command],
) -> tuple[SessionService, str, InMemoryDatabase]:
    """A service on a fresh in-memory database and a session given ``commands`` up to and
    including its ``StartInfusion``."""
    database = InMemoryDatabase()
    service = SessionService(
        shipped_catalog(), unit_of_work=functools.partial(InMemoryUnitOfWork, database)
    )
    sid = service.create_session()
    for command in commands:
        service.handle(sid, command)
        if isinstance(command, cmd.StartInfusion):
            break
    return service, sid, database


def vitals_after(service: SessionService, sid: str, minutes: int) -> cmd.RecordVitals:
    """Normal vital signs ``minutes`` after the session's last entry."""
    last = service.get_state(sid).last_at
    assert last is not None
    return cmd.RecordVitals(
        at=last + timedelta(minutes=minutes), user="nurse-a", heart_rate_bpm=Fraction(71)
    )

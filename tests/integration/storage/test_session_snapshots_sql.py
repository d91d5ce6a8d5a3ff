"""Snapshots through SQLite: a whole visit recorded with a snapshot every 3 events, read by a
fresh process (snapshot + tail), equals a replay of the stored events."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.storage.tables import session_snapshots
from msinfusion.application.session_streams import SessionStreams, entries_of
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.model import Severity
from msinfusion.session.chart import Chart, extend
from msinfusion.session.simulate import ScriptedReaction, simulate
from tests.unit.session.helpers import START, protocol

PROTOCOL = "ocrelizumab-600-standard"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url(tmp_path / "snapshots.db"))
    upgrade(engine)
    yield engine
    engine.dispose()


def test_a_fresh_reader_of_sqlite_gets_the_replayed_chart(engine: Engine) -> None:
    factory = sql_unit_of_work_factory(engine)
    visit = simulate(
        protocol(PROTOCOL),
        START,
        [ScriptedReaction(minute=Fraction(60), severity=Severity.MODERATE)],
    )
    writer = SessionService(shipped_catalog(), unit_of_work=factory, snapshot_every=3)
    sid = writer.create_session()
    for command in visit.commands:
        writer.handle(sid, command)
    with engine.connect() as connection:
        (version,) = connection.execute(
            select(session_snapshots.c.version).where(session_snapshots.c.stream_id == sid)
        ).one()
        assert connection.execute(select(func.count()).select_from(session_snapshots)).scalar() == 1
    with factory() as uow:
        stored = uow.events.read(sid)
        cold = SessionStreams(shipped_catalog()).read_in(uow, sid)
    assert len(stored) - 3 < version <= len(stored)
    replayed = extend(Chart(), entries_of(stored, first_sequence=1), protocol(PROTOCOL))
    assert cold.chart == replayed
    assert cold.state == visit.state

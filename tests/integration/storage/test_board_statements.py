"""The board reads projection rows in a fixed number of statements (issue 22), on SQLite.

Whatever the number of rows: the chairs, the rows' patients, their sessions' summaries and
every session of those patients — four SELECTs, none of the event or snapshot tables — and the
board equals the one built from full replays (the folded state survives its JSON column).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.board import read_board
from msinfusion.application.session_streams import SessionStreams
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from tests.unit.application.board_scenarios import Visit, oracle_board, record_day
from tests.unit.session.helpers import START

DAY = [
    Visit(patient="p-1", script="life-threatening", charted=40),
    Visit(patient="p-1", script="plain", charted=12, vitals=((100, 140),)),
    Visit(patient="p-2", script="reaction", charted=40),
    Visit(patient="p-3", script="plain", charted=-1),
    Visit(patient="p-3", script="plain", charted=0),
]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url(tmp_path / "board.db"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("copies", [1, 4])
def test_the_board_is_four_selects_whatever_its_rows(engine: Engine, copies: int) -> None:
    units = sql_unit_of_work_factory(engine)
    service = SessionService(shipped_catalog(), unit_of_work=units)
    appointments = record_day(service, units, DAY * copies)
    now = START + timedelta(minutes=75)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(" ".join(str(args[2]).split()))

    with units() as uow:
        event.listen(engine, "before_cursor_execute", seen)
        try:
            rows = read_board(uow, SessionStreams(shipped_catalog()), appointments, now, UTC)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        expected = oracle_board(uow, appointments, now, UTC)
    reads = [s for s in statements if not s.startswith("BEGIN")]
    assert len(rows) == 5 * copies
    assert len(reads) == 4, reads
    assert all(s.startswith("SELECT") for s in reads)
    assert not any("session_events" in s or "session_snapshots" in s for s in reads)
    assert [r.to_json_dict(UTC) for r in rows] == [r.to_json_dict(UTC) for r in expected]

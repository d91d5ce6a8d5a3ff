"""The board from projection rows (``application.board``) against the oracle: full views.

- Property: for random days (visits cut at random points, readings that raise alerts, a
  life-threatening reaction in one patient's other session) at a random "now", the board read
  from summary rows alone — no stream is read — equals, row for row, the board built from a
  replay of every stream (``view_at``) and of every session of each patient: the JSON rows of
  ``GET /api/board`` and the chair board's labelled rows.
- A summary without a folded state (written before migration 0017) is read from its stream.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, timedelta
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from msinfusion.adapters.web.ui.board import board_row
from msinfusion.application.board import read_board
from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.session_streams import SessionStreams, Stream
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from tests.unit.application.board_scenarios import (
    PATIENTS,
    VISITS,
    Visit,
    oracle_board,
    record_day,
)
from tests.unit.session.helpers import START


class _NoStreams(SessionStreams):
    """Streams that refuse to be read: the board must render from rows alone."""

    def read_in(self, uow: UnitOfWork, session_id: str) -> Stream:
        raise AssertionError(f"the board read the stream of {session_id}")


visits = st.builds(
    Visit,
    patient=st.sampled_from(PATIENTS),
    script=st.sampled_from(sorted(VISITS)),
    charted=st.one_of(st.sampled_from([-1, 0]), st.integers(min_value=1, max_value=13)),
    vitals=st.lists(
        st.tuples(st.integers(min_value=-10, max_value=300), st.sampled_from([72, 125, 140])),
        max_size=3,
    ).map(tuple),
)


def _shown(rows: list[Any]) -> list[Any]:
    return [(row.to_json_dict(UTC), board_row(row, UTC)) for row in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(visits, min_size=1, max_size=5), st.integers(min_value=-240, max_value=600))
@example([Visit(patient="p-1", script="paused", charted=7)], 120)  # paused at now
@example([Visit(patient="p-1", script="paused", charted=8, vitals=((150, 140),))], 170)
def test_the_board_from_rows_equals_the_board_from_full_views(
    day: list[Visit], minutes: int
) -> None:
    database = InMemoryDatabase()
    units = functools.partial(InMemoryUnitOfWork, database)
    service = SessionService(shipped_catalog(), unit_of_work=units)
    appointments = record_day(service, units, day)
    now = START + timedelta(minutes=minutes)
    with units() as uow:
        from_rows = read_board(uow, _NoStreams(shipped_catalog()), appointments, now, UTC)
        expected = oracle_board(uow, appointments, now, UTC)
    for row in from_rows:
        view = row.session
        event("no session" if view is None else f"status {view.status}")
        if view is not None and view.alerts:
            event("open alerts")
        if row.patient.contraindicated_therapy_ids:
            event("a contraindication from another session")
    assert _shown(from_rows) == _shown(expected)


def test_a_row_without_a_folded_state_is_read_from_its_stream() -> None:
    database = InMemoryDatabase()
    units = functools.partial(InMemoryUnitOfWork, database)
    service = SessionService(shipped_catalog(), unit_of_work=units)
    day = [Visit(patient="p-1", script="life-threatening", charted=40)]
    appointments = record_day(service, units, day)
    session_id = str(appointments[0].session_id)
    with units() as uow:  # as a row written before migration 0017
        old = uow.sessions.get(session_id)
        uow.sessions.save(
            replace(old, state=None, worst_reaction=None, therapy_contraindicated=None)
        )
        uow.commit()
    now = START + timedelta(minutes=90)
    with units() as uow:
        from_rows = read_board(uow, SessionStreams(shipped_catalog()), appointments, now, UTC)
        expected = oracle_board(uow, appointments, now, UTC)
    assert _shown(from_rows) == _shown(expected)
    assert from_rows[0].patient.contraindicated_therapy_ids == ("ocrelizumab",)
    assert from_rows[0].session is not None
    assert from_rows[0].session.timeline  # the full view, from the stream

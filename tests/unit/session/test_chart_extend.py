"""``session.chart.extend`` is linear and gives exactly what the quadratic version gave.

Property: a session recorded with readings charted late and out of order and corrections that
move an entry's time, its stored entries extended one by one, in random batches and all at
once, give the same chart as the former per-entry implementation (kept here as the oracle:
it recomputed every moved time for every entry).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from fractions import Fraction

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.session_streams import entries_of
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.model import Protocol
from msinfusion.errors import CommandRefused
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session.chart import Chart, Entry, extend, fold, moved_times
from msinfusion.session.charting import LATE_AFTER
from msinfusion.session.evolve import evolve
from msinfusion.session.simulate import simulate
from tests.unit.session.helpers import START, protocol

PROTOCOL = "ocrelizumab-600-standard"
VISIT = simulate(protocol(PROTOCOL), START, dose_number=3)


def _quadratic_extend(chart: Chart, entries: Sequence[Entry], protocol: Protocol | None) -> Chart:
    """The implementation before issue 22's follow-up, verbatim in behaviour."""
    for entry in entries:
        moves = any(
            isinstance(e, ev.EntryCorrected) and e.corrected_at is not None for e in entry.stored
        )
        last = chart.order[-1] if chart.order else None
        in_order = not moves and (
            last is None
            or last.is_check_in
            or entry.is_check_in
            or entry.own_at >= moved_times(chart.entries).get(last.sequence, last.own_at)
        )
        if in_order:
            placed = replace(entry, events=entry.stored)
            state = chart.state
            for event in placed.events:
                state = evolve(state, event)
            chart = Chart(
                entries=(*chart.entries, placed), order=(*chart.order, placed), state=state
            )
        else:
            chart = fold((*chart.entries, entry), protocol, strict=False)
    return chart


def _correction(service: SessionService, sid: str, target: int, minutes: int) -> cmd.Command:
    """A correction of event ``target``'s time (0: the entry last in clinical order), charted
    now (after every entry) as of the target's own time, so the moved entry may end up last."""
    chart = service.get_chart(sid)
    entry = next((e for e in chart.entries if e.holds(target)), chart.order[-1])
    now = max(e.own_at for e in chart.entries) + timedelta(minutes=1)
    return cmd.CorrectEntry(
        at=entry.own_at,
        user="n",
        corrects_sequence=entry.sequence,
        reason="the time was wrong",
        corrected_at=min(now, entry.own_at + timedelta(minutes=minutes)),
        recorded_at=now,
        late_reason="charted late",
    )


def _recorded(
    readings: list[tuple[int, int, int]], moves: list[tuple[int, int, int]]
) -> list[Entry]:
    database = InMemoryDatabase()
    service = SessionService(
        shipped_catalog(), unit_of_work=functools.partial(InMemoryUnitOfWork, database)
    )
    sid = service.create_session()
    charted = [(c.at, c) for c in VISIT.commands[:-1]]
    for minute, heart_rate, late in readings:
        at = START + timedelta(minutes=minute)
        vitals = cmd.RecordVitals(at=at, user="n", heart_rate_bpm=Fraction(heart_rate))
        charted.append((at + timedelta(minutes=late), vitals))
    charted.sort(key=lambda pair: pair[0])
    actions: list[cmd.Command | tuple[int, int]] = [
        replace(c, recorded_at=r, late_reason="charted late" if r - c.at > LATE_AFTER else None)
        for r, c in charted
    ]
    for position, target, minutes in sorted(moves, reverse=True):
        actions.insert(min(position, len(actions) - 1), (target, minutes))
    for action in actions:
        with contextlib.suppress(CommandRefused):
            if isinstance(action, cmd.Command):
                service.handle(sid, action)
            else:
                service.handle(sid, _correction(service, sid, *action))
                event("a correction moved an entry")
    with InMemoryUnitOfWork(database) as uow:
        return entries_of(uow.events.read(sid), first_sequence=1)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=200),
            st.sampled_from([72, 125, 140]),
            st.integers(min_value=0, max_value=60),
        ),
        max_size=12,
    ),
    st.lists(
        st.tuples(st.integers(4, 30), st.integers(0, 30), st.integers(-30, 30)),
        max_size=3,
    ),
    st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=8),
)
def test_extend_one_by_one_in_batches_and_all_at_once_equal_the_former_extend(
    readings: list[tuple[int, int, int]],
    moves: list[tuple[int, int, int]],
    batches: list[int],
) -> None:
    entries = _recorded(readings, moves)
    prot = protocol(PROTOCOL)
    expected = _quadratic_extend(Chart(), entries, prot)
    assert extend(Chart(), entries, prot) == expected
    one_by_one = Chart()
    for entry in entries:
        one_by_one = extend(one_by_one, [entry], prot)
    assert one_by_one == expected
    batched, rest, i = Chart(), list(entries), 0
    while rest:
        size = batches[i % len(batches)]
        batched, rest, i = extend(batched, rest[:size], prot), rest[size:], i + 1
    assert batched == expected


def test_extend_of_nothing_is_the_chart() -> None:
    entries = _recorded([], [])
    chart = extend(Chart(), entries, protocol(PROTOCOL))
    assert extend(chart, [], protocol(PROTOCOL)) == chart


def _vitals_at(minute: int) -> ev.VitalsRecorded:
    return ev.VitalsRecorded(
        at=START + timedelta(minutes=minute),
        user="n",
        heart_rate_bpm=Fraction(70),
        systolic_mmhg=None,
        diastolic_mmhg=None,
        spo2_pct=None,
        temperature_c=None,
        respiratory_rate_per_min=None,
    )


def test_an_entry_before_the_corrected_time_of_the_last_entry_is_folded_into_place() -> None:
    # Entries stored as recorded (no commands): the check-in, readings at minutes 10 and 15, a
    # correction (at minute 20) moving the reading of minute 10 to minute 40, then a reading at
    # minute 30: it comes before the moved reading, so the chart is folded, not appended to.
    moved_to = START + timedelta(minutes=40)
    correction = ev.EntryCorrected(
        at=START + timedelta(minutes=20),
        user="n",
        corrects_sequence=2,
        reason="the time was wrong",
        correction=None,
        corrected_at=moved_to,
    )
    stored = [VISIT.events[0], _vitals_at(10), _vitals_at(15), correction, _vitals_at(30)]
    entries = [Entry(sequence=i, source=None, stored=(event,)) for i, event in enumerate(stored, 1)]
    chart = Chart()
    for entry in entries:
        chart = extend(chart, [entry], None)
    assert [e.sequence for e in chart.order] == [1, 3, 4, 5, 2]
    assert chart == _quadratic_extend(Chart(), entries, None) == extend(Chart(), entries, None)

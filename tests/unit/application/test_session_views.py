"""Views from the per-version memo (``session_views``) against the oracle: a full replay.

- Property: a session recorded in random batches, with readings charted late and out of
  order, read after each batch by a writer (its streams come from its own decisions) and by a
  second reader (another process: it extends its cached stream by the events the writer
  stored): the cached chart equals a chart read from scratch (snapshot + tail = full replay)
  and every view — live, at a later time, at an earlier time, in two timezones — equals
  ``view_at`` over the full stream.
- The cache is validated against the store: a stream that a rolled-back transaction appended
  to twice, a stored stream shorter than the cached one, and a stored stream that differs under
  the cached version are each read again, never served from the cache.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.session_streams import SessionStreams, Stream, entries_of
from msinfusion.application.session_views import stream_view
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.model import Severity
from msinfusion.errors import CommandRefused
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session.chart import Chart, extend
from msinfusion.session.charting import LATE_AFTER
from msinfusion.session.codec import event_to_dict
from msinfusion.session.queries import SessionView, view_at
from msinfusion.session.simulate import ScriptedReaction, simulate
from tests.unit.application.started_sessions import started_session, vitals_after
from tests.unit.session.helpers import START, protocol

PROTOCOL = "ocrelizumab-600-standard"
BERLIN = ZoneInfo("Europe/Berlin")
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
VISITS = {
    "plain": simulate(protocol(PROTOCOL), START, dose_number=3),
    "reaction": simulate(
        protocol(PROTOCOL),
        START,
        [ScriptedReaction(minute=Fraction(45), severity=Severity.MILD)],
        dose_number=3,
    ),
}


def _oracle(
    streams: SessionStreams, factory: functools.partial[InMemoryUnitOfWork], sid: str
) -> Stream:
    """The stream read from scratch, by a reader with an empty cache."""
    with factory() as uow:
        return SessionStreams(streams.catalog).read_in(uow, sid)


def _expected(stream: Stream, at: datetime | None, tz: ZoneInfo | type[UTC]) -> SessionView:
    return view_at(
        stream.events,
        stream.protocol,
        at,
        display_tz=tz,  # type: ignore[arg-type]
        sequences=stream.chart.sequences(),
        late_after=LATE_AFTER,
    )


def _vitals(minute: int, heart_rate: int) -> cmd.RecordVitals:
    return cmd.RecordVitals(
        at=START + timedelta(minutes=minute),
        user="nurse-a",
        heart_rate_bpm=Fraction(heart_rate),
        spo2_pct=Fraction(97),
    )


readings = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=150),  # minute after the start
        st.sampled_from([72, 80, 125, 140]),  # some raise alerts
        st.integers(min_value=0, max_value=40),  # minutes charted after it happened
    ),
    max_size=8,
)


@PROPERTY
@given(
    st.sampled_from(sorted(VISITS)),
    readings,
    st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12),
    st.integers(min_value=-90, max_value=300),
)
def test_memo_views_equal_a_full_replay(
    visit: str, chosen: list[tuple[int, int, int]], batches: list[int], offset_min: int
) -> None:
    # Each command is charted when it happened, or later; recorded in order of charting.
    charted = [(c.at, c) for c in VISITS[visit].commands]
    charted += [(START + timedelta(minutes=m + late), _vitals(m, hr)) for m, hr, late in chosen]
    charted.sort(key=lambda pair: pair[0])
    database = InMemoryDatabase()
    factory = functools.partial(InMemoryUnitOfWork, database)
    writer = SessionService(shipped_catalog(), unit_of_work=factory)
    reader = SessionService(shipped_catalog(), unit_of_work=factory)
    sid = writer.create_session()
    pending = list(charted)
    sizes = itertools.cycle(batches)  # as many batches as the commands need
    while pending:
        size = next(sizes)
        batch, pending = pending[:size], pending[size:]
        for recorded_at, command in batch:
            late = recorded_at - command.at > LATE_AFTER
            # A late reading may contradict what followed it; the point is the view.
            with contextlib.suppress(CommandRefused):
                writer.handle(
                    sid,
                    replace(
                        command,
                        recorded_at=recorded_at,
                        late_reason="charted after the event" if late else None,
                    ),
                )
        fresh = _oracle(writer.streams, factory, sid)
        for service in (writer, reader):
            with factory() as uow:
                cached = service.streams.read_in(uow, sid)
            assert cached.version == fresh.version
            assert cached.chart.state == fresh.chart.state
            assert cached.events == fresh.events
            latest = max((e.at for e in fresh.events), default=None)
            times = [None] if latest is None else [None, latest, latest + timedelta(minutes=7)]
            if latest is not None:
                times.append(latest + timedelta(minutes=offset_min))
            for at in times:
                for tz in (UTC, BERLIN):
                    assert stream_view(cached, at, tz) == _expected(fresh, at, tz), (at, tz)


def _stream_of(events: list[ev.Event]) -> Stream:
    stored = [event_to_dict(e) for e in events]
    chart = extend(Chart(), entries_of(stored, first_sequence=1), protocol(PROTOCOL))
    return Stream(chart, protocol(PROTOCOL))


def test_pending_verbal_orders_from_the_memo_equal_the_replay() -> None:
    t = START
    started = ev.InfusionStarted(
        at=t,
        user="n",
        rate_ml_per_h=Fraction(40),
        override_reason="x",
        deviations=(),
        verbal_order_by="dr-b",
    )
    vitals = ev.VitalsRecorded(
        at=t + timedelta(minutes=5),
        user="n",
        heart_rate_bpm=Fraction(70),
        systolic_mmhg=None,
        diastolic_mmhg=None,
        spo2_pct=None,
        temperature_c=None,
        respiratory_rate_per_min=None,
    )
    signed = ev.VerbalOrderCosigned(at=t + timedelta(minutes=9), user="dr-b", entry_sequence=1)
    first = _stream_of([started, vitals])
    view = stream_view(first, None, UTC)
    assert [p.physician for p in view.pending_verbal_orders] == ["dr-b"]
    second = first.followed_by(_stream_of([started, vitals, signed]).chart, first.protocol)
    for stream in (first, second):
        assert stream_view(stream, None, UTC) == _expected(stream, None, UTC)
    assert stream_view(second, None, UTC).pending_verbal_orders == ()


# -- the cache is validated against the stored stream ----------------------------------------


def _started() -> tuple[SessionService, str, InMemoryDatabase]:
    return started_session(VISITS["plain"].commands)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ``after_version`` of every event read from the in-memory store."""
    found: list[int] = []
    original = InMemoryUnitOfWork._begin

    def counting(self: InMemoryUnitOfWork) -> None:
        original(self)
        read = self.events.read
        self.events.read = lambda stream_id, *, after_version=0: (  # type: ignore[method-assign]
            found.append(after_version) or read(stream_id, after_version=after_version)
        )

    monkeypatch.setattr(InMemoryUnitOfWork, "_begin", counting)
    return found


def test_a_rolled_back_transaction_deciding_twice_leaves_no_phantom_in_the_cache(
    reads: list[int],
) -> None:
    service, sid, database = _started()
    version = service.get_version(sid)
    streams = service.streams
    with InMemoryUnitOfWork(database) as uow:
        for minutes in (1, 2):  # two decisions on one stream in one transaction
            vitals = vitals_after(service, sid, minutes)
            streams.decide_in(uow, sid, vitals, None, recorded_at=vitals.at)
        # no commit: rolled back
    reads.clear()
    assert service.get_version(sid) == version
    assert reads == [version - 1]  # the committed stream was cached, never the uncommitted
    assert (
        service.list_events(sid) == _oracle(streams, service_factory(database), sid).stored_events
    )


def service_factory(database: InMemoryDatabase) -> functools.partial[InMemoryUnitOfWork]:
    return functools.partial(InMemoryUnitOfWork, database)


@pytest.mark.parametrize("change", ["shorter", "different"])
def test_a_stored_stream_that_changed_under_the_cache_is_read_again(change: str) -> None:
    service, sid, database = _started()
    service.handle(sid, vitals_after(service, sid, 1))
    cached = service.get_chart(sid)  # cached now
    stored = database.streams[sid]
    if change == "shorter":  # e.g. the database restored from an earlier backup
        database.streams[sid] = stored[:-1]
    else:  # the same length, another last event
        other = event_to_dict(replace(cached.stored_events[-1], heart_rate_bpm=Fraction(99)))
        database.streams[sid] = [*stored[:-1], other]
    fresh = _oracle(service.streams, service_factory(database), sid)
    assert service.get_chart(sid).state == fresh.chart.state
    assert service.get_version(sid) == fresh.version
    assert service.list_events(sid) == fresh.stored_events != cached.stored_events


def test_a_warm_read_fetches_only_the_cached_last_event(reads: list[int]) -> None:
    service, sid, _ = _started()
    service.handle(sid, vitals_after(service, sid, 1))
    reads.clear()
    version = service.get_version(sid)
    assert reads == [version - 1]  # the cache held: no read from the start


def test_a_decision_computes_the_projected_end_once_for_summary_and_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import msinfusion.application.session_streams as streams_module
    import msinfusion.application.session_views as views_module

    service, sid, database = _started()
    service.get_view(sid)  # the memo of the current version is built
    calls: list[object] = []
    original = streams_module.projected_end

    def counted(*args: object) -> object:
        calls.append(args)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(streams_module, "projected_end", counted)
    monkeypatch.setattr(views_module, "projected_end", counted)
    vitals = vitals_after(service, sid, 1)
    with InMemoryUnitOfWork(database) as uow:
        decision = service.streams.decide_in(uow, sid, vitals, None, recorded_at=vitals.at)
        summary = uow.sessions.get(sid)
        uow.commit()
    view = stream_view(decision.after, None, UTC)
    assert len(calls) == 1
    assert view == _expected(decision.after, None, UTC)
    assert summary.projected_infusion_end == view.projected_infusion_end is not None

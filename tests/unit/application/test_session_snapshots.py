"""Stored snapshots (``session.snapshot``, ``SessionStreams``) against the oracle: a full replay.

- Property: a session recorded in random batches with a random snapshot interval, readings
  charted late and out of order (so a late entry lands before the latest snapshot's point)
  and corrections that move an earlier entry's clinical time: after each batch, a reader with
  an empty cache (a fresh process) reads snapshot + tail and gets exactly the chart a replay
  of every stored event gives, and the same views.
- The codec round-trips every chart exactly; a snapshot of another schema, an unreadable one
  and one that no longer matches the stored events are each ignored (the stream is replayed).
- Snapshots are written in the command's transaction: a rolled-back command leaves none.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from dataclasses import replace
from datetime import UTC, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.ports import StoredSnapshot
from msinfusion.application.session_streams import SessionStreams, Stream, entries_of
from msinfusion.application.session_views import stream_view
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.model import Severity
from msinfusion.errors import CommandRefused, InvalidEvent
from msinfusion.session import commands as cmd
from msinfusion.session import interchange
from msinfusion.session import snapshot as snapshot_module
from msinfusion.session.chart import Chart, LazyCommand, extend
from msinfusion.session.charting import LATE_AFTER
from msinfusion.session.simulate import ScriptedReaction, simulate
from msinfusion.session.snapshot import SNAPSHOT_SCHEMA, chart_from_dict, chart_to_dict
from tests.unit.session.helpers import START, protocol

PROTOCOL = "ocrelizumab-600-standard"
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
VISITS = {
    "plain": simulate(protocol(PROTOCOL), START, dose_number=3),
    "reaction": simulate(
        protocol(PROTOCOL),
        START,
        [ScriptedReaction(minute=Fraction(45), severity=Severity.MODERATE)],
        dose_number=3,
    ),
}
Factory = functools.partial[InMemoryUnitOfWork]


def _replayed(factory: Factory, sid: str, upto: int | None = None) -> Chart:
    """The oracle: the stored events (the first ``upto``), grouped and folded from nothing (no
    cache, no snapshot)."""
    with factory() as uow:
        stored = uow.events.read(sid)[:upto]
    return extend(Chart(), entries_of(stored, first_sequence=1), protocol(PROTOCOL))


def _cold(factory: Factory, sid: str) -> Stream:
    """The stream as a fresh process reads it: snapshot + tail."""
    with factory() as uow:
        return SessionStreams(shipped_catalog()).read_in(uow, sid)


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
        st.integers(min_value=0, max_value=60),  # minutes charted after it happened
    ),
    max_size=10,
)
moves = st.lists(
    st.tuples(
        st.integers(min_value=2, max_value=30),  # recorded after this many commands
        st.integers(min_value=1, max_value=40),  # which stored event (if it exists)
        st.integers(min_value=-20, max_value=20),  # minutes its entry moves
    ),
    max_size=2,
)


def _correction(service: SessionService, sid: str, target: int, minutes: int) -> cmd.Command:
    """A correction of event ``target``'s time, charted now (after every entry)."""
    chart = service.get_chart(sid)
    entry = next((e for e in chart.entries if e.holds(target)), chart.entries[-1])
    last = max(e.own_at for e in chart.entries)
    return cmd.CorrectEntry(
        at=last + timedelta(minutes=1),
        user="nurse-a",
        corrects_sequence=entry.sequence,
        reason="the time was wrong",
        corrected_at=entry.own_at + timedelta(minutes=minutes),
    )


@PROPERTY
@given(
    st.sampled_from(sorted(VISITS)),
    readings,
    moves,
    st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=10),
    st.integers(min_value=1, max_value=7),
)
def test_snapshot_and_tail_equal_a_full_replay(
    visit: str,
    chosen: list[tuple[int, int, int]],
    moved: list[tuple[int, int, int]],
    batches: list[int],
    every: int,
) -> None:
    charted = [(c.at, c) for c in VISITS[visit].commands]
    charted += [(START + timedelta(minutes=m + late), _vitals(m, hr)) for m, hr, late in chosen]
    charted.sort(key=lambda pair: pair[0])
    database = InMemoryDatabase()
    factory = functools.partial(InMemoryUnitOfWork, database)
    writer = SessionService(shipped_catalog(), unit_of_work=factory, snapshot_every=every)
    sid = writer.create_session()
    recorded = [
        replace(
            command,
            recorded_at=recorded_at,
            late_reason="charted after the event"
            if recorded_at - command.at > LATE_AFTER
            else None,
        )
        for recorded_at, command in charted
    ]
    pending: list[cmd.Command | tuple[int, int]] = list(recorded)
    for position, target, minutes in sorted(moved, reverse=True):
        pending.insert(min(position, len(pending) - 1), (target, minutes))
    sizes = itertools.cycle(batches)
    snapshot_versions: set[int] = set()
    while pending:
        size = next(sizes)
        batch, pending = pending[:size], pending[size:]
        for item in batch:
            with contextlib.suppress(CommandRefused):  # a late entry may contradict what followed
                if isinstance(item, cmd.Command):
                    writer.handle(sid, item)
                else:
                    writer.handle(sid, _correction(writer, sid, *item))
                    event("a correction moved an entry")
        snapshot = database.snapshots.get(sid)
        if snapshot is not None:
            snapshot_versions.add(snapshot.version)
        oracle = _replayed(factory, sid)
        cold = _cold(factory, sid)
        if any(e.events != e.stored for e in oracle.entries):
            event("a late entry changed entries before it")
        assert cold.chart == oracle
        assert cold.version == oracle.version
        latest = max((e.at for e in oracle.events), default=None)
        for at in (None, latest):
            expected = stream_view(Stream(oracle, cold.protocol), at, UTC)
            assert stream_view(cold, at, UTC) == expected
    if _replayed(factory, sid).version >= every:
        assert snapshot_versions  # the property exercised a snapshot


# -- the codec and its fallbacks -----------------------------------------------------------------


def _recorded(
    every: int = 4, *, discharged: bool = True
) -> tuple[SessionService, str, InMemoryDatabase]:
    database = InMemoryDatabase()
    factory = functools.partial(InMemoryUnitOfWork, database)
    service = SessionService(shipped_catalog(), unit_of_work=factory, snapshot_every=every)
    sid = service.create_session()
    for command in VISITS["reaction"].commands:
        if isinstance(command, cmd.Discharge) and not discharged:
            break
        service.handle(sid, command)
    return service, sid, database


def test_the_codec_round_trips_a_whole_visit_exactly() -> None:
    service, sid, _ = _recorded()
    chart = service.get_chart(sid)
    assert chart.version == len(VISITS["reaction"].events)
    assert chart_from_dict(chart_to_dict(chart)) == chart


def test_a_snapshot_is_written_in_the_command_transaction_every_n_events() -> None:
    service, sid, database = _recorded(every=4)
    snapshot = database.snapshots[sid]
    version = service.get_version(sid)
    assert snapshot.schema_version == SNAPSHOT_SCHEMA
    assert version - 4 < snapshot.version <= version  # the last multiple of 4 crossed
    factory = functools.partial(InMemoryUnitOfWork, database)
    assert chart_from_dict(snapshot.payload) == _replayed(factory, sid, snapshot.version)


def test_a_rolled_back_command_writes_no_snapshot() -> None:
    service, sid, database = _recorded(every=1, discharged=False)
    before = database.snapshots[sid]
    chart = service.get_chart(sid)
    vitals = cmd.RecordVitals(
        at=max(e.own_at for e in chart.entries) + timedelta(minutes=1),
        user="nurse-a",
        heart_rate_bpm=Fraction(70),
    )
    with InMemoryUnitOfWork(database) as uow:
        service.streams.decide_in(uow, sid, vitals, None, recorded_at=vitals.at)
        assert uow.snapshots.get(sid) is not None
        # no commit: rolled back
    assert database.snapshots[sid] == before


@pytest.mark.parametrize("damage", ["old-schema", "unreadable", "stale", "wrong-version"])
def test_a_snapshot_that_cannot_be_trusted_is_ignored_and_the_stream_replayed(damage: str) -> None:
    _, sid, database = _recorded(every=4)
    factory = functools.partial(InMemoryUnitOfWork, database)
    snapshot = database.snapshots[sid]
    payload = dict(snapshot.payload)
    if damage == "old-schema":
        changed = replace(snapshot, schema_version=SNAPSHOT_SCHEMA - 1)
    elif damage == "unreadable":
        payload["state"] = {**payload["state"], "dose_mg": "not a number"}
        changed = replace(snapshot, payload=payload)
    elif damage == "stale":  # the snapshot's last event is not the stored one (a restore)
        entries = [dict(e) for e in payload["entries"]]
        stored = [dict(e) for e in entries[-1]["stored"]]
        stored[-1]["user"] = "someone-else"
        entries[-1] = {**entries[-1], "stored": stored}
        payload["entries"] = entries
        changed = replace(snapshot, payload=payload)
    else:
        changed = replace(snapshot, version=snapshot.version + 1)
    database.snapshots[sid] = changed
    assert _cold(factory, sid).chart == _replayed(factory, sid)


def test_an_unreadable_document_raises_invalid_event() -> None:
    with pytest.raises(InvalidEvent, match="snapshot"):
        chart_from_dict({"schema": SNAPSHOT_SCHEMA, "entries": [{"sequence": 1}]})


def test_a_cold_read_uses_the_snapshot_and_reads_only_the_tail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, sid, database = _recorded(every=4)
    snapshot: StoredSnapshot = database.snapshots[sid]
    found: list[int] = []
    original = InMemoryUnitOfWork._begin

    def counting(self: InMemoryUnitOfWork) -> None:
        original(self)
        read = self.events.read
        self.events.read = lambda stream_id, *, after_version=0: (  # type: ignore[method-assign]
            found.append(after_version) or read(stream_id, after_version=after_version)
        )

    monkeypatch.setattr(InMemoryUnitOfWork, "_begin", counting)
    _cold(functools.partial(InMemoryUnitOfWork, database), sid)
    assert found == [snapshot.version - 1]


# -- lazy commands: decoded only when a refold needs them ----------------------------------------


def _snapshotted_at_the_end(database: InMemoryDatabase, sid: str) -> tuple[Factory, StoredSnapshot]:
    """A snapshot of the whole stream (no tail), as a bulk load writes one."""
    factory = functools.partial(InMemoryUnitOfWork, database)
    with factory() as uow:
        SessionStreams(shipped_catalog()).write_snapshot_in(uow, sid)
        uow.commit()
    return factory, database.snapshots[sid]


def _late_vitals(chart: Chart) -> cmd.RecordVitals:
    """Vitals at minute 30 charted after every entry: a late entry that refolds the chart."""
    last = max(e.own_at for e in chart.entries)
    return replace(
        _vitals(30, 72), recorded_at=last + timedelta(minutes=1), late_reason="charted late"
    )


def _counting_decoder(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decoded: list[str] = []
    original = interchange.command_from_dict

    def counting(raw: object) -> cmd.Command:
        command = original(raw)
        decoded.append(type(command).__name__)
        return command

    monkeypatch.setattr(snapshot_module, "command_from_dict", counting)
    return decoded


def test_a_snapshot_read_decodes_no_command_until_a_late_entry_refolds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, sid, database = _recorded(every=0, discharged=False)
    factory, snapshot = _snapshotted_at_the_end(database, sid)
    decoded = _counting_decoder(monkeypatch)
    streams = SessionStreams(shipped_catalog())
    with factory() as uow:
        cold = streams.read_in(uow, sid)
    view = stream_view(cold, None, UTC)
    assert decoded == []  # the read and the view need no command
    lazy = [e.source for e in cold.chart.entries if isinstance(e.source, LazyCommand)]
    assert len(lazy) == len(cold.chart.entries) == len(snapshot.payload["entries"])
    assert view == stream_view(Stream(_replayed(factory, sid), cold.protocol), None, UTC)
    assert chart_to_dict(cold.chart) == snapshot.payload  # written back without decoding
    assert decoded == []

    vitals = _late_vitals(cold.chart)
    assert vitals.recorded_at is not None
    with factory() as uow:
        decision = streams.decide_in(uow, sid, vitals, None, recorded_at=vitals.recorded_at)
        uow.commit()
    assert len(decoded) == len(lazy)  # the refold decided every entry again, each decoded once
    assert all(source.is_decoded for source in lazy)
    assert decision.after.chart == _replayed(factory, sid)


@pytest.mark.parametrize("damage", ["unknown-command", "bad-value"])
def test_a_corrupt_command_in_a_snapshot_is_found_by_the_refold_and_the_stream_replayed(
    damage: str,
) -> None:
    _, sid, database = _recorded(every=0, discharged=False)
    factory, snapshot = _snapshotted_at_the_end(database, sid)
    entries = [dict(e) for e in snapshot.payload["entries"]]
    changed = max(i for i, e in enumerate(entries) if e["command"]["command"] == "ChangeRate")
    raw = dict(entries[changed]["command"])
    if damage == "unknown-command":
        raw["command"] = "NoSuchCommand"
    else:
        raw["rate_ml_per_h"] = "not a number"
    entries[changed] = {**entries[changed], "command": raw}
    database.snapshots[sid] = replace(snapshot, payload={**snapshot.payload, "entries": entries})
    oracle = _replayed(factory, sid)

    cold = _cold(factory, sid)  # read lazily: the damage is not seen yet, the views are right
    damaged = cold.chart.entries[changed]
    assert isinstance(damaged.source, LazyCommand)
    with pytest.raises(InvalidEvent, match="command in the session snapshot"):
        _ = damaged.command
    assert cold.chart != oracle  # an unreadable command equals no command
    assert stream_view(cold, None, UTC) == stream_view(Stream(oracle, cold.protocol), None, UTC)

    streams = SessionStreams(shipped_catalog())
    vitals = _late_vitals(oracle)
    assert vitals.recorded_at is not None
    with factory() as uow:  # the late entry's refold needs the command: replayed, then decided
        decision = streams.decide_in(uow, sid, vitals, None, recorded_at=vitals.recorded_at)
        uow.commit()
    assert not any(isinstance(e.source, LazyCommand) for e in decision.before.chart.entries)
    assert decision.before.chart == oracle
    assert decision.after.chart == _replayed(factory, sid)

    # Another writer's late entry in the tail of the (still damaged) snapshot: the cold read's
    # refold finds the damage and replays; nothing half-built is served.
    assert _cold(factory, sid).chart == _replayed(factory, sid)

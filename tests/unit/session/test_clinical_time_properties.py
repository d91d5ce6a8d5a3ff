"""Properties of the clinical-time chart (Hypothesis).

- Recording order does not matter: a visit whose vital signs are charted late, in any order
  (each after it happened), folds to the same state as charting everything as it happened.
- No entry blocks a later real-time entry: whatever was charted before (late, slightly fast,
  refused), a reading charted as it happens is accepted.
- Replay is deterministic: rebuilding the chart from its stored entries gives the same state.
- The volume integral is the exact integral of the clinical-order rate segments.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from fractions import Fraction
from random import Random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.application.sessions import SessionService
from msinfusion.errors import CommandRefused
from msinfusion.session import commands as cmd
from msinfusion.session.chart import fold
from msinfusion.session.segments import list_actual_segments, total_volume_ml
from msinfusion.session.simulate import simulate
from tests.unit.session.helpers import START, memory_sessions, protocol

PROTOCOL = "ocrelizumab-600-standard"
VISIT = simulate(protocol(PROTOCOL), START, dose_number=3)
STARTED = next(c.at for c in VISIT.commands if isinstance(c, cmd.StartInfusion))
ENDED = next(c.at for c in VISIT.commands if isinstance(c, cmd.CompleteInfusion | cmd.StopInfusion))
SPAN_MIN = int((ENDED - STARTED).total_seconds() // 60)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def _benign_vitals(minute: int, heart_rate: int) -> cmd.RecordVitals:
    """Normal readings: no alert fires, so alert numbering cannot depend on the order."""
    return cmd.RecordVitals(
        at=STARTED + timedelta(minutes=minute),
        user="device:monitor-1",
        heart_rate_bpm=Fraction(heart_rate),
        spo2_pct=Fraction(97),
    )


readings = st.lists(
    st.tuples(st.integers(min_value=1, max_value=SPAN_MIN - 1), st.integers(70, 90)),
    min_size=1,
    max_size=6,
    unique_by=lambda r: r[0],
)


def _record(commands: list[cmd.Command]) -> tuple[SessionService, str]:
    """Record in the order given, each charted when the latest entry so far happened."""
    service = memory_sessions()
    session = service.create_session()
    charted = START - timedelta(days=1)
    for command in commands:
        charted = max(charted, command.at)
        service.handle(
            session, replace(command, recorded_at=charted, late_reason="charted after the event")
        )
    return service, session


def _in_clinical_order(vitals: list[cmd.RecordVitals]) -> list[cmd.Command]:
    return sorted([*VISIT.commands, *vitals], key=lambda c: (c.at, not isinstance(c, cmd.CheckIn)))


@PROPERTY
@given(readings, st.randoms(use_true_random=False))
def test_any_recording_order_gives_the_clinical_order_state(
    chosen: list[tuple[int, int]], random: Random
) -> None:
    vitals = [_benign_vitals(m, hr) for m, hr in chosen]
    in_order, in_order_session = _record(_in_clinical_order(vitals))
    # The visit as it happened; the readings arrive late, shuffled, after the discharge.
    shuffled = list(vitals)
    random.shuffle(shuffled)
    late, late_session = _record([*VISIT.commands, *shuffled])
    assert late.get_state(late_session) == in_order.get_state(in_order_session)
    assert late.get_version(late_session) == in_order.get_version(in_order_session)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-90, max_value=10),  # minutes relative to its charting
            st.integers(min_value=1, max_value=5),  # minutes between chartings
        ),
        max_size=8,
    )
)
def test_no_entry_blocks_a_later_real_time_entry(junk: list[tuple[int, int]]) -> None:
    service, session = _record(
        [c for c in VISIT.commands if c.at <= STARTED]  # checked in, premedicated, started
    )
    charted = STARTED
    for offset, gap in junk:
        charted += timedelta(minutes=gap)
        try:
            service.handle(
                session,
                cmd.RecordVitals(
                    at=charted + timedelta(minutes=offset),
                    recorded_at=charted,
                    user="device:monitor-1",
                    heart_rate_bpm=Fraction(75),
                    late_reason="delivered late",
                ),
            )
        except CommandRefused as refused:
            assert refused.rule in {"clock-future", "before-check-in"}  # noqa: PT017  # junk may be refused; the point is what follows
    now = charted + timedelta(minutes=1)
    for command in (
        cmd.RecordVitals(at=now, recorded_at=now, user="nurse-a", spo2_pct=Fraction(96)),
        cmd.StopInfusion(at=now, recorded_at=now, user="nurse-a", reason="patient request"),
    ):
        service.handle(session, command)
    assert service.get_state(session).status.value == "observation"


@PROPERTY
@given(readings, st.randoms(use_true_random=False))
def test_rebuilding_the_chart_is_deterministic_and_the_integral_exact(
    chosen: list[tuple[int, int]], random: Random
) -> None:
    vitals = [_benign_vitals(m, hr) for m, hr in chosen]
    random.shuffle(vitals)
    service, session = _record([*VISIT.commands, *vitals])
    chart = service.get_chart(session)
    first = fold(chart.entries, protocol(PROTOCOL), strict=True)
    second = fold(chart.entries, protocol(PROTOCOL), strict=False)
    assert first.state == second.state == chart.state
    end = chart.state.infusion_ended_at
    assert end is not None
    segments = list_actual_segments(chart.events, until=end)
    assert min(total_volume_ml(segments), chart.state.bag_volume_ml) == chart.state.volume_ml

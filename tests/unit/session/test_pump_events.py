"""``RecordPumpEvent``: what a pump reports, decided by the engine, by hand-worked numbers.

ocrelizumab-600-standard (catalog, cited): 500 mL bag, 40 mL/h from minute 0, 80 from 30,
120 from 60, 160 from 90, 200 from 120; protocol maximum 200 mL/h. At 40 mL/h the record holds
20 mL at minute 30; a pump set by hand to 120 at minute 10 has, at minute 20,
40 x 10/60 + 120 x 10/60 = 6 2/3 + 20 = 26 2/3 mL.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msinfusion.errors import InvalidCommand
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session.decide import decide
from msinfusion.session.evolve import evolve
from msinfusion.session.state import Status
from tests.unit.session.helpers import at, checked_in, protocol, started

PROTOCOL = "ocrelizumab-600-standard"
PUMP = "P-1"
LADDER = ((0, 40), (30, 80), (60, 120), (90, 160), (120, 200))
"""(from minute, mL/h): the protocol's ladder, restated by hand."""


def report(minute: float, kind: str, **fields: object) -> cmd.RecordPumpEvent:
    return cmd.RecordPumpEvent(
        at=at(minute),
        user=f"device:{PUMP}",
        pump_id=PUMP,
        kind=kind,
        **fields,  # type: ignore[arg-type]
    )


def types(events: list[ev.Event]) -> list[str]:
    return [e.TYPE for e in events]


def test_a_confirmation_at_the_charted_rate_records_the_report_beside_the_volume() -> None:
    service, session = started(PROTOCOL)
    events = service.handle(
        session,
        report(30, "delivery-started", rate_ml_per_h=Fraction(40), pump_volume_ml=Fraction(20)),
    )
    assert types(events) == ["PumpEventRecorded"]
    (recorded,) = events
    assert isinstance(recorded, ev.PumpEventRecorded)
    assert (recorded.engine_volume_ml, recorded.volume_difference_ml) == (20, 0)
    assert recorded.contradiction is None
    assert recorded.pump_rate_ml_per_h_applied is None


def test_a_ladder_step_set_at_the_pump_is_charted_as_the_pumps_rate_change() -> None:
    service, session = started(PROTOCOL)
    events = service.handle(session, report(30, "delivery-started", rate_ml_per_h=Fraction(80)))
    assert types(events) == ["PumpEventRecorded", "RateChanged"]
    change = events[1]
    assert isinstance(change, ev.RateChanged)
    assert (change.rate_ml_per_h, change.previous_rate_ml_per_h, change.cause) == (80, 40, "pump")
    assert change.user == f"device:{PUMP}"


def test_a_manual_rate_above_the_step_is_recorded_as_the_pumps_truth_with_an_alert() -> None:
    service, session = started(PROTOCOL)
    events = service.handle(session, report(10, "delivery-started", rate_ml_per_h=Fraction(120)))
    assert types(events) == ["PumpEventRecorded", "AlertRaised"]
    recorded, alert = events
    assert isinstance(recorded, ev.PumpEventRecorded)
    assert isinstance(alert, ev.AlertRaised)
    assert (recorded.contradiction, recorded.pump_rate_ml_per_h_applied) == ("ladder-step", 120)
    assert (alert.rule, alert.priority, alert.alert_id) == (
        "pump-contradicts-record",
        "high",
        "alert-1",
    )
    state = service.get_state(session, at(20))
    assert (state.rate_ml_per_h, state.volume_ml) == (120, Fraction(80, 3))


def test_a_rate_above_the_protocol_maximum_names_max_rate() -> None:
    service, session = started(PROTOCOL)
    events = service.handle(session, report(130, "delivery-started", rate_ml_per_h=Fraction(250)))
    recorded = events[0]
    assert isinstance(recorded, ev.PumpEventRecorded)
    assert recorded.contradiction == "max-rate"
    assert "above the protocol maximum of 200 mL/h" in events[1].message  # type: ignore[attr-defined]


def test_a_stop_at_the_pump_pauses_the_record_once() -> None:
    service, session = started(PROTOCOL)
    first = service.handle(session, report(15, "delivery-stopped", pump_volume_ml=Fraction(10)))
    assert types(first) == ["PumpEventRecorded", "InfusionPaused"]
    assert first[1].reason == f"stopped at pump {PUMP}"  # type: ignore[attr-defined]
    again = service.handle(session, report(16, "delivery-stopped", pump_volume_ml=Fraction(10)))
    assert types(again) == ["PumpEventRecorded"]  # already paused: nothing more to chart
    assert service.get_state(session, at(20)).volume_ml == 10


def test_an_occlusion_pauses_charts_the_line_and_alerts() -> None:
    service, session = started(PROTOCOL)
    events = service.handle(session, report(12, "alarm", alarm="occlusion"))
    assert types(events) == [
        "PumpEventRecorded",
        "InfusionPaused",
        "LineEventRecorded",
        "AlertRaised",
    ]
    assert events[2].kind == "line-occluded"  # type: ignore[attr-defined]
    assert events[3].rule == "pump-alarm"  # type: ignore[attr-defined]
    assert service.get_state(session, at(13)).status is Status.PAUSED


def test_a_completion_before_the_bag_is_empty_is_the_pumps_word_not_the_records() -> None:
    service, session = started(PROTOCOL)
    events = service.handle(session, report(30, "delivery-complete", pump_volume_ml=Fraction(500)))
    recorded = events[0]
    assert isinstance(recorded, ev.PumpEventRecorded)
    assert recorded.contradiction == "bag-not-empty"
    assert (recorded.engine_volume_ml, recorded.volume_difference_ml) == (20, 480)
    assert service.get_state(session, at(31)).status is Status.INFUSING


@pytest.mark.parametrize(("tolerance", "alerts"), [(Fraction(5), 1), (Fraction(6), 0)])
def test_a_volume_difference_above_the_tolerance_is_flagged(
    tolerance: Fraction, alerts: int
) -> None:
    service, session = started(PROTOCOL)
    events = service.handle(
        session,
        report(
            30,
            "delivery-started",
            rate_ml_per_h=Fraction(40),
            pump_volume_ml=Fraction(26),  # the record holds 20 mL: 6 mL more at the pump
            volume_tolerance_ml=tolerance,
        ),
    )
    raised = [e for e in events if isinstance(e, ev.AlertRaised)]
    assert len(raised) == alerts
    if alerts:
        assert raised[0].rule == "pump-volume-difference"
        assert "difference_ml=6" in raised[0].values


def test_a_bolus_is_recorded_and_alerts() -> None:
    service, session = started(PROTOCOL)
    events = service.handle(session, report(20, "bolus", rate_ml_per_h=Fraction(40)))
    assert [e.rule for e in events if isinstance(e, ev.AlertRaised)] == ["pump-bolus"]  # type: ignore[attr-defined]


def test_a_start_at_the_pump_before_the_premedication_is_refused_but_recorded() -> None:
    service, session = checked_in(PROTOCOL)
    events = service.handle(session, report(0, "delivery-started", rate_ml_per_h=Fraction(40)))
    recorded = events[0]
    assert isinstance(recorded, ev.PumpEventRecorded)
    assert recorded.contradiction == "premedication-window"
    assert recorded.pump_rate_ml_per_h_applied is None  # the record does not start by itself
    assert service.get_state(session, at(1)).status is Status.CHECKED_IN


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "rate-changed"}, "kind"),
        ({"kind": "delivery-started"}, "rate_ml_per_h"),
        ({"kind": "alarm"}, "alarm"),
        ({"kind": "bolus", "pump_volume_ml": Fraction(-1)}, "pump_volume_ml"),
        ({"kind": "bolus", "pump_id": " "}, "pump_id"),
    ],
)
def test_a_malformed_report_names_the_field(fields: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"at": at(0), "user": "device:P-1", "pump_id": PUMP, **fields}
    with pytest.raises(InvalidCommand) as raised:
        cmd.RecordPumpEvent(**values)  # type: ignore[arg-type]
    assert raised.value.field == field


@settings(max_examples=60, deadline=None)
@given(
    minute=st.integers(min_value=1, max_value=150),
    rate=st.fractions(min_value=Fraction(1, 10), max_value=Fraction(400)).map(
        lambda f: f.limit_denominator(10)
    ),
)
def test_the_record_always_runs_at_the_rate_the_pump_reports(minute: int, rate: Fraction) -> None:
    """Whatever a running pump reports, the record then runs at that rate; it says why when
    the engine would have refused it, and it never names a rule when it would not."""
    service, session = _RUNNING
    state = service.get_state(session, at(minute))
    p = protocol(PROTOCOL)
    events = decide(state, report(minute, "delivery-started", rate_ml_per_h=rate), p)
    after = state
    for event in events:
        after = evolve(after, event)
    assert after.rate_ml_per_h == rate
    recorded = events[0]
    assert isinstance(recorded, ev.PumpEventRecorded)
    contradicted = recorded.contradiction is not None
    assert contradicted == (recorded.pump_rate_ml_per_h_applied is not None)
    assert contradicted == any(isinstance(e, ev.AlertRaised) for e in events)
    step = max(r for start, r in LADDER if start <= minute)
    assert contradicted == (rate > step)


_RUNNING = started(PROTOCOL)

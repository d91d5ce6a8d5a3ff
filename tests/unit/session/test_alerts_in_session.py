"""Alerts in the session record: raised with the vitals that fire them, one per condition,
cleared, acknowledged, escalated at read time; hand-worked against the NEWS2 chart."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msinfusion.application import SessionService
from msinfusion.errors import CommandRefused, InvalidCommand
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session.alerting import ESCALATE_AFTER, list_alerts_at
from msinfusion.session.codec import event_from_dict, event_to_dict
from msinfusion.session.evolve import replay
from tests.unit.session.helpers import START, at, checked_in, premedicate, protocol

OCRELIZUMAB = "ocrelizumab-600-standard"
NORMAL = {"systolic_mmhg": 120, "heart_rate_bpm": 72, "temperature_c": Fraction("36.8")}


def vitals(service: SessionService, session: str, minute: float, **values: Any) -> list[Any]:
    given_values: dict[str, Any] = {name: Fraction(value) for name, value in values.items()}
    return list(
        service.handle(session, cmd.RecordVitals(at=at(minute), user="nurse-a", **given_values))
    )


def started_with_baseline(protocol_id: str = OCRELIZUMAB) -> tuple[SessionService, str]:
    """Pre-infusion vitals (the baseline) at -140 min, then premedication and the start."""
    service, session = checked_in(protocol_id)
    vitals(service, session, -140, **NORMAL)
    premedicate(service, session, protocol_id)
    first = Fraction(protocol(protocol_id).ladder.steps[0].rate_ml_per_h)
    service.handle(session, cmd.StartInfusion(at=at(0), user="nurse-a", rate_ml_per_h=first))
    return service, session


def raised(events: list[Any]) -> list[tuple[str, str, str]]:
    return [(e.alert_id, e.key, e.priority) for e in events if isinstance(e, ev.AlertRaised)]


def test_normal_vital_signs_raise_nothing() -> None:
    service, session = started_with_baseline()
    assert [type(e) for e in vitals(service, session, 15, **NORMAL)] == [ev.VitalsRecorded]


def test_a_systolic_drop_from_baseline_raises_one_alert_in_the_same_decision() -> None:
    # Baseline systolic 120 mmHg scores 0 (111-219); 98 mmHg scores 2 (91-100): +2 points.
    service, session = started_with_baseline()
    events = vitals(service, session, 15, systolic_mmhg=98)
    assert isinstance(events[0], ev.VitalsRecorded)
    assert raised(events) == [("alert-1", "worse-than-baseline:systolic_bp", "medium")]
    alert = events[1]
    assert (alert.at, alert.user) == (at(15), "nurse-a")
    assert {"baseline_points=0", "now_points=2"} <= set(alert.values)
    assert "possible infusion reaction" in alert.suggested_action


def test_an_extreme_value_raises_the_parameter_alert_too() -> None:
    # 88 mmHg scores 3 (<= 90): extreme parameter and worse than baseline (0 -> 3).
    service, session = started_with_baseline()
    keys = {key for _, key, _ in raised(vitals(service, session, 15, systolic_mmhg=88))}
    assert keys == {"news2-parameter-3:systolic_bp", "worse-than-baseline:systolic_bp"}


def test_one_alert_per_episode_then_cleared_then_a_new_episode() -> None:
    service, session = started_with_baseline()
    assert len(raised(vitals(service, session, 15, systolic_mmhg=98))) == 1
    assert raised(vitals(service, session, 16, systolic_mmhg=97)) == []  # still firing
    service.handle(session, cmd.AcknowledgeAlert(at=at(17), user="nurse-b", alert_id="alert-1"))
    assert raised(vitals(service, session, 18, systolic_mmhg=96)) == []  # acknowledged, firing
    assert raised(vitals(service, session, 19, heart_rate_bpm=75)) == []  # BP not measured
    back = vitals(service, session, 20, systolic_mmhg=118)
    assert [(type(e), getattr(e, "alert_id", None)) for e in back] == [
        (ev.VitalsRecorded, None),
        (ev.AlertConditionCleared, "alert-1"),
    ]
    assert raised(vitals(service, session, 25, systolic_mmhg=99)) == [
        ("alert-2", "worse-than-baseline:systolic_bp", "medium")
    ]


def test_the_baseline_is_the_latest_pre_infusion_value_of_each_parameter() -> None:
    service, session = checked_in(OCRELIZUMAB)
    vitals(service, session, -140, systolic_mmhg=98)  # low before the start
    vitals(service, session, -130, heart_rate_bpm=72)  # another parameter only
    premedicate(service, session, OCRELIZUMAB)
    rate = Fraction(protocol(OCRELIZUMAB).ladder.steps[0].rate_ml_per_h)
    service.handle(session, cmd.StartInfusion(at=at(0), user="nurse-a", rate_ml_per_h=rate))
    baseline = service.get_state(session).baseline_vitals
    assert baseline is not None
    assert (baseline.systolic_mmhg, baseline.heart_rate_bpm) == (98, 72)
    # 96 mmHg is 2 points, as the baseline was: no change from baseline.
    assert raised(vitals(service, session, 10, systolic_mmhg=96)) == []
    # Temperature had no baseline: its first value after the start becomes it.
    vitals(service, session, 11, temperature_c=Fraction("36.9"))
    assert service.get_state(session).baseline_vitals.temperature_c == Fraction("36.9")  # type: ignore[union-attr]


def test_the_alemtuzumab_temperature_watch() -> None:
    # 38.5 C scores 1 point (38.1-39.0): the alemtuzumab watch fires at 1 point.
    service, session = started_with_baseline("alemtuzumab-12")
    events = vitals(service, session, 30, temperature_c=Fraction("38.5"))
    assert raised(events) == [("alert-1", "protocol-alemtuzumab-temperature:temperature", "medium")]
    service2, session2 = started_with_baseline()  # ocrelizumab has no temperature watch
    assert raised(vitals(service2, session2, 30, temperature_c=Fraction("38.5"))) == []


def test_acknowledging_refuses_unknown_and_repeated_acknowledgements() -> None:
    service, session = started_with_baseline()
    vitals(service, session, 15, systolic_mmhg=98)
    with pytest.raises(CommandRefused) as unknown:
        service.handle(session, cmd.AcknowledgeAlert(at=at(16), user="n", alert_id="alert-9"))
    assert unknown.value.rule == "alert-unknown"
    done = service.handle(
        session, cmd.AcknowledgeAlert(at=at(16), user="nurse-b", alert_id="alert-1", note="BP")
    )
    assert [type(e) for e in done] == [ev.AlertAcknowledged]
    (alert,) = service.get_state(session).alerts
    assert (alert.alert.acknowledged_by, alert.alert.acknowledged_at) == ("nurse-b", at(16))
    with pytest.raises(CommandRefused) as again:
        service.handle(session, cmd.AcknowledgeAlert(at=at(17), user="n", alert_id="alert-1"))
    assert again.value.rule == "alert-already-acknowledged"
    assert service.get_state(session).open_alerts == ()


def test_escalation_is_evaluated_at_read_time() -> None:
    service, session = started_with_baseline()
    vitals(service, session, 15, systolic_mmhg=98)
    just_before = service.get_view(session, at(15) + ESCALATE_AFTER - timedelta(seconds=1))
    assert [(a.alert.priority.value, a.alert.escalated) for a in just_before.alerts] == [
        ("medium", False)
    ]
    shown = just_before.to_json_dict()["alerts"][0]
    assert shown["escalates_at"] == (at(15) + ESCALATE_AFTER).isoformat()
    assert shown["acknowledgeable"] is True
    late = service.get_view(session, at(15) + ESCALATE_AFTER)
    assert [(a.alert.priority.value, a.alert.escalated) for a in late.alerts] == [("high", True)]
    # Acknowledged in time: never escalated, not open.
    service.handle(session, cmd.AcknowledgeAlert(at=at(16), user="nurse-b", alert_id="alert-1"))
    assert service.get_view(session, at(16) + ESCALATE_AFTER).alerts == ()
    # Reading changes nothing: a view back at minute 15 still shows the alert open.
    assert service.get_view(session, at(19)).alerts == ()
    assert (
        len(
            service.get_view(
                session,
                at(
                    15,
                ),
            ).alerts
        )
        == 1
    )


def test_overdue_vital_signs_are_a_read_time_low_alert() -> None:
    service, session = started_with_baseline()
    vitals(service, session, 10, **NORMAL)
    assert service.get_view(session, at(40)).alerts == ()  # due at 40 exactly: not late
    (late,) = service.get_view(session, at(45)).alerts
    assert (late.alert_id, late.alert.rule, late.alert.priority.value) == (
        "overdue",
        "vital-signs-overdue",
        "low",
    )
    assert late.alert.values["late_min"] == "5"
    assert service.get_view(session, at(45)).to_json_dict()["alerts"][0]["acknowledgeable"] is False


def test_implausible_values_are_refused_as_invalid_input() -> None:
    service, session = started_with_baseline()
    with pytest.raises(InvalidCommand, match="heart_rate_bpm"):
        vitals(service, session, 15, heart_rate_bpm=400)


def test_alert_events_survive_the_stored_form_and_replay() -> None:
    service, session = started_with_baseline()
    vitals(service, session, 15, systolic_mmhg=88, heart_rate_bpm=125)
    service.handle(session, cmd.AcknowledgeAlert(at=at(16), user="nurse-b", alert_id="alert-2"))
    vitals(service, session, 20, systolic_mmhg=120, heart_rate_bpm=80)
    events = service.list_events(session)
    assert {type(e) for e in events} >= {
        ev.AlertRaised,
        ev.AlertAcknowledged,
        ev.AlertConditionCleared,
    }
    assert [event_from_dict(event_to_dict(e)) for e in events] == list(events)
    assert replay(events) == service.get_state(session)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=70, max_value=180), min_size=1, max_size=25))
def test_a_condition_never_alerts_twice_without_clearing(systolics: list[int]) -> None:
    service, session = started_with_baseline()
    for minute, systolic in enumerate(systolics, start=1):
        vitals(service, session, minute, systolic_mmhg=systolic)
    firing: set[str] = set()
    for event in service.list_events(session):
        if isinstance(event, ev.AlertRaised):
            assert event.key not in firing
            firing.add(event.key)
        elif isinstance(event, ev.AlertConditionCleared):
            assert event.key in firing
            firing.remove(event.key)
    state = service.get_state(session)
    assert state.firing_keys == firing
    ids = [a.alert_id for a in state.alerts]
    assert ids == [f"alert-{n}" for n in range(1, len(ids) + 1)]
    assert all(a.alert.raised_at >= START for a in list_alerts_at(state, at(30)))


# Standards dossier 2.3 vector I: RR 22 (2) + SpO2 94 % scale 1 (1) + air (0) + systolic 98 (2)
# + pulse 112 (2) + Alert (0) + 38.4 C (1) = NEWS2 8, the high band.
VECTOR_I: dict[str, Any] = {
    "respiratory_rate_per_min": Fraction(22),
    "spo2_pct": Fraction(94),
    "supplemental_oxygen": False,
    "systolic_mmhg": Fraction(98),
    "heart_rate_bpm": Fraction(112),
    "consciousness": Consciousness.ALERT,
    "temperature_c": Fraction("38.4"),
}
# Every parameter in its 0-point band: NEWS2 0.
COMPLETE_NORMAL: dict[str, Any] = {
    **VECTOR_I,
    "respiratory_rate_per_min": Fraction(16),
    "spo2_pct": Fraction(97),
    "systolic_mmhg": Fraction(120),
    "heart_rate_bpm": Fraction(72),
    "temperature_c": Fraction("36.8"),
}


def record(service: SessionService, session: str, minute: float, **values: Any) -> list[Any]:
    return list(service.handle(session, cmd.RecordVitals(at=at(minute), user="nurse-a", **values)))


def band_alerts(events: list[Any]) -> list[tuple[str, str, str]]:
    return [(a, key, p) for a, key, p in raised(events) if key.startswith("news2-band:")]


def test_a_complete_set_in_the_high_band_raises_the_news2_band_alert() -> None:
    service, session = started_with_baseline()
    events = record(service, session, 15, **VECTOR_I)
    assert isinstance(events[0], ev.VitalsRecorded)
    assert (events[0].consciousness, events[0].supplemental_oxygen) == ("A", False)
    (band,) = [e for e in events if isinstance(e, ev.AlertRaised) and e.rule == "news2-band"]
    assert (band.key, band.priority, band.parameter) == ("news2-band:high", "high", None)
    assert band.message == "NEWS2 8 (high clinical risk)"
    assert "news2_total=8" in band.values
    view = service.get_view(session, at(15))
    shown = [(a.alert_id, a.alert.rule, a.alert.priority.value) for a in view.alerts]
    assert (band.alert_id, "news2-band", "high") in shown
    opened = view.to_json_dict()["alerts"]
    assert any(a["rule"] == "news2-band" and a["priority"] == "high" for a in opened)


def test_the_news2_band_alerts_once_per_episode_and_clears_on_a_complete_set() -> None:
    service, session = started_with_baseline()
    ((first, _, _),) = band_alerts(record(service, session, 15, **VECTOR_I))
    assert band_alerts(record(service, session, 16, **VECTOR_I)) == []  # still firing
    incomplete = {k: v for k, v in COMPLETE_NORMAL.items() if k != "consciousness"}
    after_incomplete = record(service, session, 17, **incomplete)
    assert not any(
        isinstance(e, ev.AlertConditionCleared) and e.key == "news2-band:high"
        for e in after_incomplete
    )  # an incomplete set says nothing about the band
    cleared = record(service, session, 18, **COMPLETE_NORMAL)
    assert ("news2-band:high", first) in [
        (e.key, e.alert_id) for e in cleared if isinstance(e, ev.AlertConditionCleared)
    ]
    assert band_alerts(record(service, session, 19, **VECTOR_I)) != []  # a new episode


@pytest.mark.parametrize("left_out", ["consciousness", "supplemental_oxygen", "spo2_pct"])
def test_an_incomplete_set_raises_no_news2_band_alert(left_out: str) -> None:
    service, session = started_with_baseline()
    values = {k: v for k, v in VECTOR_I.items() if k != left_out}
    events = record(service, session, 15, **values)
    assert band_alerts(events) == []
    assert all(a.alert.rule != "news2-band" for a in service.get_view(session, at(15)).alerts)


def test_consciousness_takes_its_acvpu_letter_and_a_new_confusion_scores_3() -> None:
    service, session = started_with_baseline()
    events = record(service, session, 15, **{**COMPLETE_NORMAL, "consciousness": "C"})
    # 0 everywhere but new confusion (3): NEWS2 3, low-medium band (no band alert), and the
    # single extreme parameter alert; Alert at baseline -> confusion is not compared (no baseline).
    assert [key for _, key, _ in raised(events)] == ["news2-parameter-3:consciousness"]
    assert events[0].consciousness == "C"


@pytest.mark.parametrize("letter", ["a", "alert", "X", "", 1])
def test_a_consciousness_that_is_not_an_acvpu_letter_is_invalid(letter: Any) -> None:
    with pytest.raises(InvalidCommand, match="consciousness") as error:
        cmd.RecordVitals(at=at(15), heart_rate_bpm=Fraction(72), consciousness=letter)
    assert error.value.field == "consciousness"


@pytest.mark.parametrize("flag", ["yes", 1, 0, "false"])
def test_supplemental_oxygen_must_be_true_or_false(flag: Any) -> None:
    with pytest.raises(InvalidCommand, match="supplemental_oxygen") as error:
        cmd.RecordVitals(at=at(15), heart_rate_bpm=Fraction(72), supplemental_oxygen=flag)
    assert error.value.field == "supplemental_oxygen"


def test_consciousness_and_oxygen_alone_are_not_a_set() -> None:
    with pytest.raises(InvalidCommand, match="at least one vital sign"):
        cmd.RecordVitals(at=at(15), consciousness=Consciousness.ALERT, supplemental_oxygen=False)

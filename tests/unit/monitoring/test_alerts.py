"""Alert rules derived from NEWS2: bands, extreme parameters, baseline change, protocol watches,
overdue checks, acknowledgement and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from msinfusion.errors import InvalidVitalSigns
from msinfusion.monitoring import (
    AlertPriority,
    Consciousness,
    VitalSigns,
    escalate,
    evaluate,
    overdue,
)

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def vs(**changes: object) -> VitalSigns:
    normal: dict[str, object] = {
        "measured_at": AT,
        "respiratory_rate_per_min": Decimal(16),
        "spo2_pct": Decimal(98),
        "supplemental_oxygen": False,
        "systolic_mmhg": Decimal(120),
        "diastolic_mmhg": Decimal(75),
        "heart_rate_bpm": Decimal(72),
        "consciousness": Consciousness.ALERT,
        "temperature_c": Decimal("36.8"),
    }
    return VitalSigns(**{**normal, **changes})  # type: ignore[arg-type]


def rules(alerts: tuple[object, ...]) -> list[str]:
    return sorted(a.rule for a in alerts)  # type: ignore[attr-defined]


def test_normal_vitals_raise_nothing() -> None:
    assert evaluate(vs(), baseline=vs()) == ()


def test_systolic_drop_from_baseline_suggests_an_infusion_reaction() -> None:
    # 120 mmHg (0 points) at baseline -> 98 mmHg (2 points, band 91-100): a rise of 2.
    (alert,) = evaluate(vs(systolic_mmhg=Decimal(98), diastolic_mmhg=Decimal(60)), baseline=vs())
    assert alert.rule == "worse-than-baseline"
    assert alert.priority is AlertPriority.MEDIUM
    assert alert.values == {  # the measured set, then why it fired
        "respiratory_rate_per_min": "16",
        "spo2_pct": "98",
        "systolic_mmhg": "98",
        "diastolic_mmhg": "60",
        "heart_rate_bpm": "72",
        "temperature_c": "36.8",
        "parameter": "systolic_bp",
        "baseline_points": "0",
        "now_points": "2",
    }
    assert "possible infusion reaction" in alert.suggested_action


def test_a_one_point_change_is_not_an_alert() -> None:
    assert evaluate(vs(systolic_mmhg=Decimal(105), diastolic_mmhg=Decimal(60)), baseline=vs()) == ()


def test_an_extreme_parameter_is_an_absolute_threshold() -> None:
    alerts = evaluate(vs(systolic_mmhg=Decimal(88), diastolic_mmhg=Decimal(50)))
    assert rules(alerts) == ["news2-parameter-3"]
    assert alerts[0].values == {
        "respiratory_rate_per_min": "16",
        "spo2_pct": "98",
        "systolic_mmhg": "88",
        "diastolic_mmhg": "50",
        "heart_rate_bpm": "72",
        "temperature_c": "36.8",
        "parameter": "systolic_bp",
        "news2_points": "3",
    }


def test_high_news2_band_is_high_priority_with_the_rcp_response() -> None:
    # Dossier vector I (IRR-like): RR 22, SpO2 94, SBP 98, HR 112, T 38.4 -> 2+1+2+2+1 = 8, high.
    alerts = evaluate(
        vs(
            respiratory_rate_per_min=Decimal(22),
            spo2_pct=Decimal(94),
            systolic_mmhg=Decimal(98),
            diastolic_mmhg=Decimal(60),
            heart_rate_bpm=Decimal(112),
            temperature_c=Decimal("38.4"),
        )
    )
    (band,) = [a for a in alerts if a.rule == "news2-band"]
    assert band.priority is AlertPriority.HIGH
    assert band.message == "NEWS2 8 (high clinical risk)"
    assert band.suggested_action.startswith("Emergency response")


def test_alemtuzumab_watches_temperature() -> None:
    febrile = vs(temperature_c=Decimal("38.3"))  # 1 NEWS2 point
    assert evaluate(febrile, therapy_id="ocrelizumab") == ()
    (alert,) = evaluate(febrile, therapy_id="alemtuzumab")
    assert alert.rule == "protocol-alemtuzumab-temperature"
    assert alert.priority is AlertPriority.MEDIUM


def test_vital_signs_overdue() -> None:
    start = AT
    assert (
        overdue(
            None, now=start + timedelta(minutes=30), interval=timedelta(minutes=30), since=start
        )
        is None
    )
    alert = overdue(
        start + timedelta(minutes=10),
        now=start + timedelta(minutes=55),
        interval=timedelta(minutes=30),
        since=start,
    )
    assert alert is not None
    assert alert.rule == "vital-signs-overdue"
    assert alert.values["late_min"] == "15"


def test_acknowledged_alerts_do_not_escalate_and_open_ones_escalate_once() -> None:
    (alert,) = evaluate(vs(systolic_mmhg=Decimal(88), diastolic_mmhg=Decimal(50)))
    later = AT + timedelta(minutes=5)
    escalated = escalate(alert, now=later, after=timedelta(minutes=5))
    assert escalated.priority is AlertPriority.HIGH
    assert escalated.escalated
    assert (
        escalate(escalated, now=later + timedelta(hours=1), after=timedelta(minutes=5)) == escalated
    )
    assert escalate(alert, now=later - timedelta(seconds=1), after=timedelta(minutes=5)) == alert
    acked = alert.acknowledge(user="nurse-a", at=AT + timedelta(minutes=1))
    assert not acked.is_open
    assert escalate(acked, now=later, after=timedelta(minutes=5)) == acked


@pytest.mark.parametrize(
    ("field", "value"),
    [("spo2_pct", Decimal(101)), ("heart_rate_bpm", Decimal(-1)), ("temperature_c", Decimal(98))],
)
def test_implausible_values_are_refused_naming_the_field(field: str, value: Decimal) -> None:
    with pytest.raises(InvalidVitalSigns) as caught:
        vs(**{field: value})
    assert caught.value.field == field


def test_diastolic_must_be_below_systolic() -> None:
    with pytest.raises(InvalidVitalSigns) as caught:
        vs(systolic_mmhg=Decimal(80), diastolic_mmhg=Decimal(90))
    assert caught.value.field == "diastolic_mmhg"


def test_naive_time_is_refused() -> None:
    with pytest.raises(InvalidVitalSigns) as caught:
        vs(measured_at=datetime(2026, 11, 25, 10, 0))  # noqa: DTZ001
    assert caught.value.field == "measured_at"

"""Alert rules over vital signs: what needs a nurse's attention now, and how urgently.

The dossiers give no stand-alone alarm thresholds for MS infusions, so every rule is derived from
the NEWS2 chart (``monitoring.news2``), never from an invented number:

* ``news2-band`` — a complete set in the medium or high band;
* ``news2-parameter-3`` — any single parameter in its extreme NEWS2 band (an absolute threshold:
  e.g. systolic <= 90 mmHg, SpO2 <= 91 % on scale 1, pulse <= 40 or >= 131 /min);
* ``worse-than-baseline`` — a parameter's NEWS2 sub-score at least ``BASELINE_RISE_POINTS`` above
  the session's pre-infusion baseline (e.g. a systolic drop from 120 to 98 mmHg: 0 -> 2 points);
* protocol rules — parameters a protocol watches especially (alemtuzumab: temperature);
* ``vital-signs-overdue`` — no set within the check interval the caller gives.

Priorities follow IEC 60601-1-8's classes (high: immediate, medium: prompt, low: awareness); the
standard leaves the assignment to the manufacturer's risk analysis, and ours is ``PRIORITY_OF``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from msinfusion.monitoring.news2 import News2Band, News2Score, score_news2
from msinfusion.monitoring.vital_signs import VitalSigns

BASELINE_RISE_POINTS = 2
"""Local policy (not a label value): a rise of two NEWS2 points in one parameter is a move across
at least one whole band (or into an extreme band) since the pre-infusion baseline."""

IRR_ACTION = (
    "possible infusion reaction: assess the patient, consider slowing or stopping per protocol"
)


class AlertPriority(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    def raised(self) -> AlertPriority:
        return AlertPriority.HIGH if self is not AlertPriority.LOW else AlertPriority.MEDIUM


PRIORITY_OF: dict[News2Band, AlertPriority] = {
    News2Band.HIGH: AlertPriority.HIGH,
    News2Band.MEDIUM: AlertPriority.HIGH,
    News2Band.LOW_MEDIUM: AlertPriority.MEDIUM,
}
"""NEWS2 >= 5 needs an urgent or emergency clinical response (RCP Chart 4): both are high
priority in an outpatient infusion chair; a single extreme parameter is medium."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    rule: str
    priority: AlertPriority
    raised_at: datetime
    values: Mapping[str, str]
    message: str
    suggested_action: str
    parameter: str | None = None
    """The NEWS2 parameter the rule watches (None: ``news2-band``, ``vital-signs-overdue``)."""
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    escalated: bool = False

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def key(self) -> str:
        """What makes two alerts "the same condition": the rule and its parameter (the NEWS2
        band alert adds its priority, so a band rising from medium to high alerts again)."""
        return f"{self.rule}:{self.parameter or self.priority.value}"

    def acknowledge(self, *, user: str, at: datetime) -> Alert:
        if not self.is_open:
            return self
        return replace(self, acknowledged_by=user, acknowledged_at=at)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterWatch:
    """A protocol rule: alert when ``parameter``'s NEWS2 sub-score reaches ``min_points``."""

    parameter: str
    min_points: int
    priority: AlertPriority
    reason: str
    source: str


PROTOCOL_WATCHES: dict[str, tuple[ParameterWatch, ...]] = {
    "alemtuzumab": (
        ParameterWatch(
            parameter="temperature",
            min_points=1,
            priority=AlertPriority.MEDIUM,
            reason="temperature outside 36.1-38.0 C during alemtuzumab (heart rate, blood "
            "pressure and temperature are the monitored parameters; IRRs are frequent)",
            source="https://www.lemtradahcp.com/safety/monitoring",
        ),
    ),
}
"""Keyed by therapy id. Alemtuzumab: dossier 2.1/2.2 (vital signs before and during the infusion:
heart rate, blood pressure, temperature)."""


def evaluate(
    vitals: VitalSigns,
    *,
    baseline: VitalSigns | None = None,
    therapy_id: str | None = None,
    spo2_scale: int = 1,
) -> tuple[Alert, ...]:
    """Every alert one set of vital signs raises (none for a normal set)."""
    score = score_news2(vitals, spo2_scale=spo2_scale)
    values = _values(score, vitals)
    alerts = [*_band_alert(score, vitals, values), *_extreme_parameter_alerts(score, vitals)]
    if baseline is not None:
        alerts += _baseline_alerts(score, score_news2(baseline, spo2_scale=spo2_scale), vitals)
    for watch in PROTOCOL_WATCHES.get(therapy_id or "", ()):
        if score.subscores.get(watch.parameter, 0) >= watch.min_points:
            alerts.append(
                Alert(
                    rule=f"protocol-{therapy_id}-{watch.parameter}",
                    priority=watch.priority,
                    parameter=watch.parameter,
                    raised_at=vitals.measured_at,
                    values=values,
                    message=watch.reason,
                    suggested_action=IRR_ACTION,
                )
            )
    return tuple(alerts)


def _measured(vitals: VitalSigns) -> dict[str, str]:
    """The set's measured values, as the alert shows them with its rule."""
    return {
        field: str(getattr(vitals, field))
        for field in (
            "respiratory_rate_per_min",
            "spo2_pct",
            "systolic_mmhg",
            "diastolic_mmhg",
            "mean_arterial_mmhg",
            "heart_rate_bpm",
            "temperature_c",
        )
        if getattr(vitals, field) is not None
    }


def _values(score: News2Score, vitals: VitalSigns) -> dict[str, str]:
    shown = _measured(vitals)
    shown["news2_total"] = str(score.total) + ("" if score.is_complete else " (incomplete)")
    return shown


def _band_alert(score: News2Score, vitals: VitalSigns, values: dict[str, str]) -> list[Alert]:
    if score.band not in (News2Band.HIGH, News2Band.MEDIUM):
        return []
    return [
        Alert(
            rule="news2-band",
            priority=PRIORITY_OF[score.band],
            raised_at=vitals.measured_at,
            values=values,
            message=f"NEWS2 {score.total} ({score.band.value} clinical risk)",
            suggested_action=f"{score.response} {IRR_ACTION}.",
        )
    ]


def _extreme_parameter_alerts(score: News2Score, vitals: VitalSigns) -> list[Alert]:
    return [
        Alert(
            rule="news2-parameter-3",
            priority=AlertPriority.MEDIUM,
            parameter=parameter,
            raised_at=vitals.measured_at,
            values={**_measured(vitals), "parameter": parameter, "news2_points": "3"},
            message=f"{parameter.replace('_', ' ')} is in its extreme NEWS2 band (3 points)",
            suggested_action=IRR_ACTION,
        )
        for parameter, points in score.subscores.items()
        if points == 3
    ]


def _baseline_alerts(score: News2Score, base: News2Score, vitals: VitalSigns) -> list[Alert]:
    alerts = []
    for parameter, points in score.subscores.items():
        before = base.subscores.get(parameter)
        if before is not None and points - before >= BASELINE_RISE_POINTS:
            alerts.append(
                Alert(
                    rule="worse-than-baseline",
                    priority=AlertPriority.MEDIUM,
                    parameter=parameter,
                    raised_at=vitals.measured_at,
                    values={
                        **_measured(vitals),
                        "parameter": parameter,
                        "baseline_points": str(before),
                        "now_points": str(points),
                    },
                    message=f"{parameter.replace('_', ' ')} worse than the pre-infusion baseline "
                    f"(NEWS2 {before} -> {points} points)",
                    suggested_action=IRR_ACTION,
                )
            )
    return alerts


def overdue(
    last_measured_at: datetime | None, *, now: datetime, interval: timedelta, since: datetime
) -> Alert | None:
    """``vital-signs-overdue`` when no set was taken within ``interval`` (from ``since``, the
    infusion start, when none was taken yet)."""
    reference = last_measured_at or since
    due = reference.astimezone(UTC) + interval
    if now.astimezone(UTC) <= due:
        return None
    late_min = int((now.astimezone(UTC) - due) / timedelta(minutes=1))
    return Alert(
        rule="vital-signs-overdue",
        priority=AlertPriority.LOW,
        raised_at=now,
        values={"due_at": due.isoformat(), "late_min": str(late_min)},
        message=f"vital signs overdue by {late_min} min",
        suggested_action="record a full set of vital signs",
    )


def escalate(alert: Alert, *, now: datetime, after: timedelta) -> Alert:
    """Raise an unacknowledged alert's priority one level once ``after`` has passed (once)."""
    late = now.astimezone(UTC) - alert.raised_at.astimezone(UTC) >= after
    if not alert.is_open or alert.escalated or not late:
        return alert
    return replace(alert, priority=alert.priority.raised(), escalated=True)

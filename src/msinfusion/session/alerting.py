"""Alerts as part of the session's record: raised with the vital signs that fired them,
acknowledged by a user, escalated when left unacknowledged.

* **Raised in the same decision.** ``decide`` for ``RecordVitals`` returns ``VitalsRecorded``
  followed by one ``AlertRaised`` per condition that starts firing, and one
  ``AlertConditionCleared`` per firing condition whose parameter was measured again and no longer
  fires. The rules are ``monitoring.alerts.evaluate``: NEWS2 band, extreme parameter, change
  from the session's baseline (once the infusion has started) and the therapy's watches.
* **One alert per condition.** A condition (``Alert.key``: rule + parameter) that keeps firing
  raises no second alert, acknowledged or not; it alerts again only after it cleared. A device
  sending every second therefore raises one alert per episode, not one per message.
* **Baseline.** Per parameter, the latest value recorded before the infusion started (the
  pre-infusion assessment's vital signs); a parameter first measured after the start takes that
  first value.
* **Escalation is evaluated at read time.** An alert still unacknowledged ``ESCALATE_AFTER`` after
  it was raised is shown one priority higher (``monitoring.alerts.escalate``) by
  ``list_alerts_at(state, at)``; nothing is stored, because it follows from the record (raised
  at, acknowledged at) and the policy, and a view at any past time shows what was true then.
  Each open alert carries ``escalates_at`` so that a screen knows when to look again.
* **Overdue vital signs** are a read-time alert too (``vital-signs-overdue``, not stored, not
  acknowledgeable): it disappears when vital signs are recorded.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from fractions import Fraction
from typing import Any

from msinfusion.errors import CommandRefused, InvalidCommand, InvalidVitalSigns
from msinfusion.monitoring.alerts import Alert, AlertPriority, escalate, evaluate, overdue
from msinfusion.monitoring.news2 import score_news2
from msinfusion.monitoring.vital_signs import Consciousness, VitalSigns
from msinfusion.session import events as ev
from msinfusion.session.commands import AcknowledgeAlert
from msinfusion.session.state import RecordedAlert, SessionState, Status, as_timedelta

ESCALATE_AFTER = timedelta(minutes=5)
"""Local policy, not a clinical number from the dossier (unverified): an alert nobody
acknowledged within 5 minutes is shown one priority higher (low -> medium -> high). IEC
60601-1-8 (dossier 6.2) asks for a prompt response to medium and an immediate one to high
priority without giving minutes; a centre sets its own."""

VITALS_CHECK_INTERVAL_MIN = Fraction(30)
"""The check schedule behind ``vital-signs-overdue``: the engine's ``record-vitals`` prompt
(``session.due.VITALS_INTERVAL_MIN``, a local-policy default). Protocols carry no machine-read
check schedule yet."""

OVERDUE_ID = "overdue"

_MONITORED = (Status.INFUSING, Status.PAUSED, Status.OBSERVATION)


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def _consciousness(raw: object) -> Consciousness | None:
    """The command's ``Consciousness`` or the event's stored ACVPU letter."""
    if raw is None or isinstance(raw, Consciousness):
        return raw
    try:
        return Consciousness(raw)
    except ValueError as error:
        raise InvalidVitalSigns(
            f"consciousness must be one of A, C, V, P, U (ACVPU), got {raw!r}",
            field="consciousness",
        ) from error


def vital_signs_of(source: Any, *, at: datetime, user: str) -> VitalSigns:
    """The ``VitalSigns`` of a ``RecordVitals`` command or a ``VitalsRecorded`` event, with
    consciousness and supplemental oxygen: all seven NEWS2 parameters given, the set scores a
    NEWS2 band (``news2-band`` alert)."""

    def value(name: str) -> Decimal | None:
        raw = getattr(source, name)
        return None if raw is None else _decimal(raw)

    return VitalSigns(
        measured_at=at,
        source="device" if user.startswith("device:") else "nurse",
        systolic_mmhg=value("systolic_mmhg"),
        diastolic_mmhg=value("diastolic_mmhg"),
        heart_rate_bpm=value("heart_rate_bpm"),
        spo2_pct=value("spo2_pct"),
        temperature_c=value("temperature_c"),
        respiratory_rate_per_min=value("respiratory_rate_per_min"),
        mean_arterial_mmhg=value("mean_arterial_mmhg"),
        consciousness=_consciousness(source.consciousness),
        supplemental_oxygen=source.supplemental_oxygen,
    )


def merge_baseline(
    baseline: VitalSigns | None, vitals: VitalSigns, *, before_start: bool
) -> VitalSigns:
    """Before the start the newer value of each parameter wins; afterwards only parameters
    without a baseline are filled in."""
    if baseline is None:
        return vitals
    taken: dict[str, Any] = {}
    for field in fields(VitalSigns):
        if field.name in ("measured_at", "source"):
            continue
        new, old = getattr(vitals, field.name), getattr(baseline, field.name)
        if before_start:
            taken[field.name] = new if new is not None else old
        else:
            taken[field.name] = old if old is not None else new
    return replace(baseline, **taken)


def decide_alerts(
    state: SessionState, vitals: VitalSigns, *, therapy_id: str, at: datetime, user: str
) -> tuple[ev.Event, ...]:
    """The alert events of one recorded set (after its ``VitalsRecorded``)."""
    baseline = state.baseline_vitals if state.infusion_started_at is not None else None
    firing: dict[str, Alert] = {}
    for alert in evaluate(vitals, baseline=baseline, therapy_id=therapy_id):
        firing.setdefault(alert.key, alert)
    score = score_news2(vitals)
    raised: list[ev.Event] = []
    count = len(state.alerts)
    for key, alert in firing.items():
        if key in state.firing_keys:
            continue
        count += 1
        raised.append(
            ev.AlertRaised(
                at=at,
                user=user,
                alert_id=f"alert-{count}",
                key=key,
                rule=alert.rule,
                priority=alert.priority.value,
                parameter=alert.parameter,
                values=tuple(f"{name}={value}" for name, value in alert.values.items()),
                message=alert.message,
                suggested_action=alert.suggested_action,
            )
        )
    cleared: list[ev.Event] = []
    for key in sorted(state.firing_keys - firing.keys()):
        parameter = key.split(":", 1)[1]
        measured = score.is_complete if key.startswith("news2-band:") else None
        if measured or (measured is None and parameter in score.subscores):
            cleared.append(
                ev.AlertConditionCleared(at=at, user=user, alert_id=_latest(state, key), key=key)
            )
    return (*raised, *cleared)


def _latest(state: SessionState, key: str) -> str:
    return next(a.alert_id for a in reversed(state.alerts) if a.key == key)


def as_vital_signs(c: Any, *, at: datetime, user: str) -> VitalSigns:
    """``vital_signs_of`` for a command: implausible values are an ``InvalidCommand``."""
    try:
        return vital_signs_of(c, at=at, user=user)
    except InvalidVitalSigns as error:
        raise InvalidCommand(error.message, field=error.field) from error


def decide_acknowledge(state: SessionState, c: AcknowledgeAlert) -> tuple[ev.Event, ...]:
    for recorded in state.alerts:
        if recorded.alert_id == c.alert_id:
            if not recorded.alert.is_open:
                raise CommandRefused(
                    "alert-already-acknowledged",
                    f"{c.alert_id} was acknowledged by {recorded.alert.acknowledged_by}",
                )
            return (ev.AlertAcknowledged(at=c.at, user=c.user, alert_id=c.alert_id, note=c.note),)
    raise CommandRefused("alert-unknown", f"this session has no alert {c.alert_id}")


def apply_vitals(state: SessionState, e: ev.VitalsRecorded) -> SessionState:
    try:
        vitals = vital_signs_of(e, at=e.at, user=e.user)
    except InvalidVitalSigns:  # stored before plausibility was checked: kept, not a baseline
        return replace(state, last_vitals_at=e.at)
    baseline = merge_baseline(
        state.baseline_vitals, vitals, before_start=state.infusion_started_at is None
    )
    complete = vitals if score_news2(vitals).band is not None else state.last_complete_vitals
    return replace(
        state, last_vitals_at=e.at, last_complete_vitals=complete, baseline_vitals=baseline
    )


def apply_raised(state: SessionState, e: ev.AlertRaised) -> SessionState:
    alert = Alert(
        rule=e.rule,
        priority=AlertPriority(e.priority),
        raised_at=e.at,
        values=dict(v.split("=", 1) for v in e.values if "=" in v),
        message=e.message,
        suggested_action=e.suggested_action,
        parameter=e.parameter,
    )
    recorded = RecordedAlert(alert_id=e.alert_id, key=e.key, alert=alert)
    return replace(state, alerts=(*state.alerts, recorded), firing_keys=state.firing_keys | {e.key})


def apply_acknowledged(state: SessionState, e: ev.AlertAcknowledged) -> SessionState:
    alerts = tuple(
        replace(a, alert=a.alert.acknowledge(user=e.user, at=e.at))
        if a.alert_id == e.alert_id
        else a
        for a in state.alerts
    )
    return replace(state, alerts=alerts)


def apply_cleared(state: SessionState, e: ev.AlertConditionCleared) -> SessionState:
    alerts = tuple(
        replace(a, cleared_at=e.at) if a.alert_id == e.alert_id else a for a in state.alerts
    )
    return replace(state, alerts=alerts, firing_keys=state.firing_keys - {e.key})


def list_alerts_at(
    state: SessionState, at: datetime, *, escalate_after: timedelta = ESCALATE_AFTER
) -> tuple[RecordedAlert, ...]:
    """Open alerts at ``at``, escalated when unacknowledged for ``escalate_after``, highest
    priority first, plus ``vital-signs-overdue`` when a check is late."""
    shown = [
        replace(a, alert=escalate(a.alert, now=at, after=escalate_after)) for a in state.open_alerts
    ]
    if state.status in _MONITORED and state.infusion_started_at is not None:
        late = overdue(
            state.last_vitals_at,
            now=at,
            interval=as_timedelta(VITALS_CHECK_INTERVAL_MIN),
            since=state.infusion_started_at,
        )
        if late is not None:
            shown.append(RecordedAlert(alert_id=OVERDUE_ID, key=late.key, alert=late))
    rank = {AlertPriority.HIGH: 0, AlertPriority.MEDIUM: 1, AlertPriority.LOW: 2}
    return tuple(sorted(shown, key=lambda a: (rank[a.alert.priority], a.alert.raised_at)))


def alert_to_json(
    recorded: RecordedAlert, *, display_tz: tzinfo = UTC, escalate_after: timedelta = ESCALATE_AFTER
) -> dict[str, Any]:
    """The public JSON form of an alert (documented in docs/monitoring.md)."""
    alert = recorded.alert

    def _iso(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(display_tz).isoformat()

    stored = recorded.alert_id != OVERDUE_ID
    escalates = (
        alert.raised_at.astimezone(UTC) + escalate_after
        if stored and alert.is_open and not alert.escalated
        else None
    )
    return {
        "alert_id": recorded.alert_id,
        "rule": alert.rule,
        "priority": alert.priority.value,
        "parameter": alert.parameter,
        "raised_at": _iso(alert.raised_at),
        "message": alert.message,
        "suggested_action": alert.suggested_action,
        "values": dict(alert.values),
        "escalated": alert.escalated,
        "escalates_at": _iso(escalates),
        "condition_cleared_at": _iso(recorded.cleared_at),
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledgeable": stored and alert.is_open,
    }

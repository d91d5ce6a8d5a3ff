"""Events: immutable facts of an infusion session (past tense, NounVerbed).

Each event class has a stable registered ``TYPE`` name (never renamed: it is stored) and a schema
``VERSION`` (bumped with an upcaster in ``upcast.py`` whenever a field changes). Events record
facts, including the protocol-derived facts that applied at the time (a reaction's rate cap, the
delivered volume at a stop), so that the record reads on its own and ``evolve`` never needs the
protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import ClassVar, TypeVar

EVENT_TYPES: dict[str, type[Event]] = {}

E = TypeVar("E", bound="type[Event]")


def registered(cls: E) -> E:
    """Register an event class under its stable ``TYPE`` name."""
    name = cls.TYPE
    if name in EVENT_TYPES:  # pragma: no cover - a programming error caught at import
        raise RuntimeError(f"event type {name} registered twice")
    EVENT_TYPES[name] = cls
    return cls


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Fields every event carries: when it happened (``at``, the clinical time), the acting
    user, and when it was recorded (``recorded_at``, from the service layer's clock; stamped by
    ``session.chart`` on every event it stores, never None in a stored event)."""

    TYPE: ClassVar[str] = "Event"
    VERSION: ClassVar[int] = 2

    at: datetime
    user: str
    recorded_at: datetime | None = None

    @property
    def occurred_at(self) -> datetime:
        return self.at


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class SessionCheckedIn(Event):
    """The session opened under a protocol (id and version recorded) with the dose facts it used."""

    TYPE: ClassVar[str] = "SessionCheckedIn"
    patient_id: str
    protocol_id: str
    protocol_version: str
    dose_number: int
    course_day: int | None
    dose_mg: Fraction
    bag_volume_ml: Fraction
    concentration_mg_per_ml: Fraction
    max_rate_ml_per_h: Fraction
    observation_min: Fraction


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class AssessmentRecorded(Event):
    TYPE: ClassVar[str] = "AssessmentRecorded"
    check: str
    passed: bool
    findings: str | None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class PremedicationGiven(Event):
    """``satisfies`` is the protocol premedication this administration counts for (or None)."""

    TYPE: ClassVar[str] = "PremedicationGiven"
    drug: str
    dose: str
    route: str
    satisfies: str | None
    dose_mg: Fraction | None = None
    allergy_acknowledged: bool = False


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionStarted(Event):
    """The drug started; ``deviations`` lists premedication-window problems overridden."""

    TYPE: ClassVar[str] = "InfusionStarted"
    rate_ml_per_h: Fraction
    override_reason: str | None
    deviations: tuple[str, ...]
    verbal_order_by: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class RateChanged(Event):
    """``cause`` is "nurse" or "reaction"; ``override_reason`` marks a manual re-escalation."""

    TYPE: ClassVar[str] = "RateChanged"
    rate_ml_per_h: Fraction
    previous_rate_ml_per_h: Fraction
    cause: str
    override_reason: str | None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionPaused(Event):
    TYPE: ClassVar[str] = "InfusionPaused"
    reason: str | None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionResumed(Event):
    TYPE: ClassVar[str] = "InfusionResumed"
    rate_ml_per_h: Fraction
    override_reason: str | None = None
    verbal_order_by: str | None = None
    decision_note: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class VitalsRecorded(Event):
    """Schema v5. v2 stored the temperature in degrees Celsius (v1 stored ``temperature_f``);
    v3 adds ``consciousness`` (the ACVPU letter) and ``supplemental_oxygen`` (True: on oxygen,
    False: on air), ``None`` when not observed and in every event stored before v3 (upcast.py);
    v4 adds ``recorded_at``; v5 adds ``mean_arterial_mmhg`` (``None`` in every event stored
    before v5: mean arterial pressure was read from devices but not kept).
    """

    TYPE: ClassVar[str] = "VitalsRecorded"
    VERSION: ClassVar[int] = 5
    systolic_mmhg: Fraction | None
    diastolic_mmhg: Fraction | None
    heart_rate_bpm: Fraction | None
    spo2_pct: Fraction | None
    temperature_c: Fraction | None
    respiratory_rate_per_min: Fraction | None
    consciousness: str | None = None
    supplemental_oxygen: bool | None = None
    mean_arterial_mmhg: Fraction | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionRecorded(Event):
    """A reaction and the protocol rule applied to it.

    ``rate_cap_ml_per_h`` is factor x ``onset_rate_ml_per_h``: the most the infusion may run at
    until re-escalation. ``first_increase_after_running_min`` is the running-time point (minutes
    of running infusion since the start) before which no increase above the cap is allowed.
    """

    TYPE: ClassVar[str] = "ReactionRecorded"
    severity: str
    ctcae_grade: int | None
    symptoms: tuple[str, ...]
    action: str
    onset_rate_ml_per_h: Fraction | None
    rate_cap_ml_per_h: Fraction | None
    first_increase_after_running_min: Fraction | None
    re_escalation: str
    re_escalation_increment_ml_per_h: Fraction | None
    may_resume: bool
    requires_resolution: bool
    discontinue_therapy: bool
    resume_requires_decision: bool = False


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class RescueMedicationGiven(Event):
    TYPE: ClassVar[str] = "RescueMedicationGiven"
    drug: str
    dose: str
    route: str
    dose_mg: Fraction | None = None
    allergy_acknowledged: bool = False


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionResolved(Event):
    TYPE: ClassVar[str] = "ReactionResolved"
    note: str | None
    override_reason: str | None = None
    verbal_order_by: str | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class VerbalOrderCosigned(Event):
    """The physician (``user``) co-signed the verbal order recorded at entry ``entry_sequence``."""

    TYPE: ClassVar[str] = "VerbalOrderCosigned"
    entry_sequence: int


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionCompleted(Event):
    TYPE: ClassVar[str] = "InfusionCompleted"
    volume_infused_ml: Fraction
    dose_delivered_mg: Fraction


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionStopped(Event):
    TYPE: ClassVar[str] = "InfusionStopped"
    reason: str
    volume_infused_ml: Fraction
    dose_delivered_mg: Fraction
    due_to_reaction: bool


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class LineEventRecorded(Event):
    TYPE: ClassVar[str] = "LineEventRecorded"
    kind: str
    note: str | None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class PumpEventRecorded(Event):
    """What a pump reported, beside what the engine knew at that time.

    ``engine_volume_ml`` is the engine's computed volume at ``at``; ``volume_difference_ml`` is
    the pump's minus the engine's (None when the pump gave no volume). ``contradiction`` names
    the engine rule the pump's fact broke (``ladder-step``, ``max-rate``, ...) or None;
    ``pump_rate_ml_per_h_applied`` is the rate the record now runs at because the pump said so
    (the pump's truth, set only when the engine refused the rate of a running infusion)."""

    TYPE: ClassVar[str] = "PumpEventRecorded"
    pump_id: str
    kind: str
    rate_ml_per_h: Fraction | None
    pump_volume_ml: Fraction | None
    engine_volume_ml: Fraction
    volume_difference_ml: Fraction | None
    order_id: str | None
    alarm: str | None
    contradiction: str | None
    pump_rate_ml_per_h_applied: Fraction | None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class PatientDischarged(Event):
    TYPE: ClassVar[str] = "PatientDischarged"
    note: str | None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class EntryCorrected(Event):
    """Event ``corrects_sequence`` (1-based position in the stream) was wrong; it stays unedited.
    ``corrected_at`` moves the entry holding that event to its true clinical time: the chart is
    folded with the corrected time, and the original stays on record."""

    TYPE: ClassVar[str] = "EntryCorrected"
    corrects_sequence: int
    reason: str
    correction: str | None
    corrected_at: datetime | None = None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRaised(Event):
    """A monitoring rule fired on the vital signs recorded with it (same decision, same time).

    ``alert_id`` is ``alert-<n>`` (n-th alert of the session); ``key`` names the condition
    (rule and parameter, ``monitoring.alerts.Alert.key``): no second alert is raised for a key
    while its condition persists. ``values`` are ``name=value`` texts (the values that fired).
    """

    TYPE: ClassVar[str] = "AlertRaised"
    alert_id: str
    key: str
    rule: str
    priority: str
    parameter: str | None
    values: tuple[str, ...]
    message: str
    suggested_action: str


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class AlertAcknowledged(Event):
    """``user`` has seen alert ``alert_id`` and takes responsibility for the response."""

    TYPE: ClassVar[str] = "AlertAcknowledged"
    alert_id: str
    note: str | None


@registered
@dataclass(frozen=True, slots=True, kw_only=True)
class AlertConditionCleared(Event):
    """A later set measured the parameter of ``key`` and the rule no longer fires. The alert
    (``alert_id``, the latest for the key) stays open until acknowledged: alerts latch."""

    TYPE: ClassVar[str] = "AlertConditionCleared"
    alert_id: str
    key: str

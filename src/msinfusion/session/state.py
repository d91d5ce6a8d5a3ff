"""The session state: a pure fold over events, plus the exact volume integral.

Volume is the exact integral of the rate over time (``Fraction`` mL), accumulated at every event
and extended to any later time ``t`` by ``advance``: between events the rate is constant, so the
integral is rate x elapsed, capped at the bag volume (a pump never delivers more than the bag).

*Running time* (``running_min``) is the number of minutes the infusion has actually been running
since it started, pauses excluded. The protocol ladder, a reaction's hold and the re-escalation
interval are all measured in running time: a paused infusion does not climb the ladder, and a
hold only counts while the patient receives the drug at the reduced rate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction

from msinfusion.catalog.model import ReEscalation
from msinfusion.monitoring.alerts import Alert
from msinfusion.monitoring.vital_signs import VitalSigns

MINUTES_PER_HOUR = 60
_MICROSECONDS_PER_MINUTE = 60_000_000


class Status(enum.Enum):
    NEW = "new"
    CHECKED_IN = "checked-in"
    INFUSING = "infusing"
    PAUSED = "paused"
    OBSERVATION = "observation"
    DISCHARGED = "discharged"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionLimit:
    """The rate ceiling a reaction imposes until the rate has climbed back to the maximum.

    ``ceiling_ml_per_h`` is the highest rate allowed without a further escalation step; no rate
    above it is allowed before running minute ``next_increase_running_min``; after that, one step
    up (by at most ``increment_ml_per_h`` when ``re_escalation`` is per_ladder, with an override
    reason when it is manual, never when it is none) is allowed, and the clock restarts.
    """

    onset_rate_ml_per_h: Fraction
    ceiling_ml_per_h: Fraction
    next_increase_running_min: Fraction
    re_escalation: ReEscalation
    increment_ml_per_h: Fraction | None
    escalations: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GivenPremedication:
    drug: str
    satisfies: str | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    check: str
    passed: bool
    findings: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedAlert:
    """An alert of this session: its id (``alert-<n>``), condition key, the alert itself
    (acknowledgement included) and when its condition cleared (None while it persists)."""

    alert_id: str
    key: str
    alert: Alert
    cleared_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionState:
    """Everything ``decide`` needs, as of ``last_at`` (the time of the last event)."""

    version: int = 0
    last_at: datetime | None = None
    status: Status = Status.NEW
    patient_id: str = ""
    protocol_id: str = ""
    protocol_version: str = ""
    dose_number: int = 0
    course_day: int | None = None
    dose_mg: Fraction = Fraction(0)
    bag_volume_ml: Fraction = Fraction(0)
    concentration_mg_per_ml: Fraction = Fraction(0)
    max_rate_ml_per_h: Fraction = Fraction(0)
    observation_min: Fraction = Fraction(0)
    assessments: tuple[Assessment, ...] = ()
    premedications: tuple[GivenPremedication, ...] = ()
    rate_ml_per_h: Fraction = Fraction(0)
    last_rate_ml_per_h: Fraction = Fraction(0)
    volume_ml: Fraction = Fraction(0)
    running_min: Fraction = Fraction(0)
    infusion_started_at: datetime | None = None
    infusion_ended_at: datetime | None = None
    outcome: str | None = None
    reaction_limit: ReactionLimit | None = None
    reaction_open: bool = False
    resolution_required: bool = False
    resume_allowed: bool = True
    therapy_contraindicated: bool = False
    worst_reaction: str | None = None
    last_vitals_at: datetime | None = None
    last_complete_vitals: VitalSigns | None = None
    """The latest set with every NEWS2 parameter (a partial set never replaces it)."""
    baseline_vitals: VitalSigns | None = None
    open_reaction_severity: str | None = None
    severe_reaction_at: datetime | None = None
    """The latest severe or worse reaction: resolving it and resuming after it need vital signs
    recorded since then that do not score NEWS2 in the high band (``session.reactions``)."""
    resume_decision_required: bool = False
    alerts: tuple[RecordedAlert, ...] = ()
    firing_keys: frozenset[str] = frozenset()
    discharged_at: datetime | None = None

    @property
    def is_running(self) -> bool:
        return self.status is Status.INFUSING

    @property
    def remaining_volume_ml(self) -> Fraction:
        return self.bag_volume_ml - self.volume_ml

    @property
    def dose_delivered_mg(self) -> Fraction:
        return self.volume_ml * self.concentration_mg_per_ml

    @property
    def is_bag_empty(self) -> bool:
        return self.infusion_started_at is not None and self.volume_ml >= self.bag_volume_ml

    @property
    def observation_end(self) -> datetime | None:
        if self.infusion_ended_at is None:
            return None
        return self.infusion_ended_at + as_timedelta(self.observation_min)

    @property
    def open_alerts(self) -> tuple[RecordedAlert, ...]:
        return tuple(a for a in self.alerts if a.alert.is_open)

    def latest_assessments(self) -> tuple[Assessment, ...]:
        """The latest assessment of each check, in first-recorded order."""
        latest: dict[str, Assessment] = {}
        for assessment in self.assessments:
            latest[assessment.check] = assessment
        return tuple(latest.values())


def minutes_between(start: datetime, end: datetime) -> Fraction:
    """Exact minutes from ``start`` to ``end`` (datetimes resolve to the microsecond)."""
    delta = end - start
    micro = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Fraction(micro, _MICROSECONDS_PER_MINUTE)


def as_timedelta(value: Fraction) -> timedelta:
    """Minutes as a timedelta, rounded to the microsecond (the resolution of a datetime)."""
    return timedelta(microseconds=round(value * _MICROSECONDS_PER_MINUTE))


def advance(state: SessionState, to: datetime) -> SessionState:
    """The state with its integrals (volume, running time) extended from ``last_at`` to ``to``."""
    if state.last_at is None or to <= state.last_at:
        return state
    if not state.is_running:
        return replace(state, last_at=to)
    elapsed = minutes_between(state.last_at, to)
    volume = min(
        state.bag_volume_ml, state.volume_ml + state.rate_ml_per_h * elapsed / MINUTES_PER_HOUR
    )
    return replace(state, last_at=to, volume_ml=volume, running_min=state.running_min + elapsed)


def minutes_to_empty(state: SessionState) -> Fraction | None:
    """Minutes until the bag is empty at the current rate, or None when nothing is running."""
    if not state.is_running or state.rate_ml_per_h <= 0:
        return None
    return state.remaining_volume_ml / state.rate_ml_per_h * MINUTES_PER_HOUR

"""Frozen domain values of the therapy catalog.

A protocol is data (ADR 0001): every clinical number is a ``Cited`` value that carries the sources
it comes from, whether it is verified, and the dossier's note where sources conflict. These values
are built only by ``catalog.loader`` after validation, so code that receives them may trust them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, NewType, TypeVar

TherapyId = NewType("TherapyId", str)
ProtocolId = NewType("ProtocolId", str)

T = TypeVar("T")


class Severity(enum.Enum):
    """Label severity classes of an infusion-related reaction, mildest first."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    LIFE_THREATENING = "life-threatening"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def is_at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_SEVERITY_ORDER = (Severity.MILD, Severity.MODERATE, Severity.SEVERE, Severity.LIFE_THREATENING)


class Mechanism(enum.Enum):
    """How the drug acts; drives the pharmacology models and the nurse-facing explanation."""

    ANTI_CD20_B_CELL_DEPLETION = "anti-CD20 B-cell depletion"
    ANTI_VLA4_MIGRATION_BLOCKING = "anti-VLA-4 (alpha-4 integrin) lymphocyte migration blocking"
    ANTI_CD52_LYMPHOCYTE_DEPLETION = "anti-CD52 lymphocyte depletion and immune reconstitution"
    TOPOISOMERASE_II_INHIBITION = "topoisomerase II inhibition (cytotoxic immunosuppression)"
    GLUCOCORTICOID = "glucocorticoid anti-inflammatory (relapse treatment)"


class ReactionAction(enum.Enum):
    """What the pump must do when a reaction of a given severity is recorded."""

    REDUCE_RATE = "reduce_rate"
    INTERRUPT = "interrupt"
    STOP = "stop"


class ReEscalation(enum.Enum):
    """How the rate may climb again after a reaction hold."""

    PER_LADDER = "per_ladder"
    MANUAL = "manual"
    NONE = "none"


class IntervalUnit(enum.Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class CourseKind(enum.Enum):
    """Which calendar algorithm builds a therapy's course (``planning.course_plan``)."""

    SPLIT_START_CALENDAR_MONTHS = "split-start-calendar-months"
    SPLIT_START_WEEKS = "split-start-weeks"
    FIXED_INTERVAL = "fixed-interval"
    OFF_LABEL_REGIMENS = "off-label-regimens"
    REPEATED_DAILY_COURSES = "repeated-daily-courses"
    CUMULATIVE_LIMITED = "cumulative-limited"
    RELAPSE_DAILY_COURSE = "relapse-daily-course"

    @property
    def open_ended(self) -> bool:
        """An open-ended calendar needs a display horizon (``listed_doses``)."""
        return self in _OPEN_ENDED_KINDS


_OPEN_ENDED_KINDS = frozenset(
    {
        CourseKind.SPLIT_START_CALENDAR_MONTHS,
        CourseKind.SPLIT_START_WEEKS,
        CourseKind.FIXED_INTERVAL,
    }
)


class MonitoringPlan(enum.Enum):
    """Which monitoring calendar follows a course (``planning.monitoring_calendar``)."""

    LYMPHOCYTE_DEPLETION = "lymphocyte-depletion"
    PML_SURVEILLANCE = "pml-surveillance"
    B_CELL_DEPLETION = "b-cell-depletion"
    CARDIOTOXICITY = "cardiotoxicity"

    @property
    def interval_names(self) -> tuple[str, ...]:
        """The cadences this calendar reads; a therapy file must cite each, and no other."""
        return _PLAN_INTERVALS[self]


_PLAN_INTERVALS: dict[MonitoringPlan, tuple[str, ...]] = {
    MonitoringPlan.LYMPHOCYTE_DEPLETION: (
        "horizon_after_last_dose",
        "blood_urine_every",
        "thyroid_every",
        "skin_every",
        "cervical_screening_every",
        "liver_every",
        "herpes_prophylaxis_after_course_us",
        "herpes_prophylaxis_after_course_eu",
    ),
    MonitoringPlan.PML_SURVEILLANCE: (
        "jcv_every",
        "jcv_low_index_from",
        "mri_every",
        "mri_high_risk_every",
        "high_risk_from",
        "rems_first",
        "rems_every",
    ),
    MonitoringPlan.B_CELL_DEPLETION: (),
    MonitoringPlan.CARDIOTOXICITY: ("lvef_after_last_dose_every",),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A public document a clinical number comes from, with the dossier's evidence tag."""

    id: str
    url: str
    evidence: str
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Cited(Generic[T]):
    """A clinical value with its sources; ``verified`` is False where the dossier says so."""

    value: T
    sources: tuple[Source, ...]
    note: str | None = None
    verified: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Code:
    system: str
    value: str
    sources: tuple[Source, ...]
    verified: bool = True
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Dose:
    """A fixed dose in mg, or a body-surface-area dose in mg/m2 (exactly one of the two)."""

    mg: Cited[Decimal] | None = None
    mg_per_m2: Cited[Decimal] | None = None

    @property
    def is_bsa_based(self) -> bool:
        return self.mg_per_m2 is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class RateStep:
    """From ``start_min`` after the drug starts, run at ``rate_ml_per_h``."""

    start_min: Decimal
    rate_ml_per_h: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLadder:
    """The rate steps of one protocol; the last step runs until the bag is empty."""

    steps: tuple[RateStep, ...]
    sources: tuple[Source, ...]
    note: str | None = None
    verified: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class PremedicationWindow:
    """Give the premedication between ``max`` and ``min`` minutes before the drug starts.

    ``max_before_start_min`` is None when the label gives only a latest time ("completed at least
    30 min before"). A premedication with no window at all just has to precede the start.
    """

    min_before_start_min: Cited[Decimal]
    max_before_start_min: Cited[Decimal] | None
    approximate: bool
    tolerance_min: Cited[Decimal] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PremedicationAlternative:
    """Another drug the label accepts for a premedication, with its dose range and routes."""

    drug: str
    dose_mg_min: Decimal
    dose_mg_max: Decimal
    routes: tuple[str, ...]
    sources: tuple[Source, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Premedication:
    """A protocol premedication. ``dose_mg`` and ``route`` are set where the label gives them
    ("methylprednisolone 100 mg IV"); None means any plausible dose or route counts ("an
    antihistamine per local practice")."""

    drug: str
    dose: str
    route: str | None
    required: bool
    sources: tuple[Source, ...]
    window: PremedicationWindow | None = None
    applies_to_course_days: tuple[int, ...] | None = None
    note: str | None = None
    verified: bool = True
    dose_mg: Decimal | None = None
    alternatives: tuple[PremedicationAlternative, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservationRule:
    """Post-infusion observation for dose numbers ``from_dose_number``..``to_dose_number``."""

    from_dose_number: int
    to_dose_number: int | None
    observation_min: Cited[Decimal]
    waivable_when: str | None = None

    def applies_to(self, dose_number: int) -> bool:
        upper_ok = self.to_dose_number is None or dose_number <= self.to_dose_number
        return self.from_dose_number <= dose_number and upper_ok


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionRule:
    """What the protocol requires after an infusion reaction of one severity."""

    severity: Severity
    action: ReactionAction
    rate_factor_of_onset: Cited[Decimal] | None
    hold_min: Cited[Decimal] | None
    may_resume: bool
    resume_requires_resolution: bool
    re_escalation: ReEscalation
    re_escalation_increment_ml_per_h: Cited[Decimal] | None
    discontinue_therapy: bool
    sources: tuple[Source, ...]
    note: str | None = None
    verified: bool = True
    resume_requires_decision: bool = False
    """Resuming needs a documented clinician decision (``override_reason``): the label gives no
    resume rate, so the engine never resumes on its own authority (alemtuzumab)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Eligibility:
    """Which dose numbers and reaction histories a protocol may be used for."""

    min_dose_number: int = 1
    max_dose_number: int | None = None
    excluded_if_prior_reaction_at_least: Severity | None = None
    sources: tuple[Source, ...] = ()
    note: str | None = None

    def reasons_ineligible(
        self, *, dose_number: int, worst_prior_reaction: Severity | None = None
    ) -> tuple[str, ...]:
        """Why this protocol may not be used; empty when it may."""
        reasons: list[str] = []
        if dose_number < self.min_dose_number:
            reasons.append(f"dose_number {dose_number} is below {self.min_dose_number}")
        if self.max_dose_number is not None and dose_number > self.max_dose_number:
            reasons.append(f"dose_number {dose_number} is above {self.max_dose_number}")
        limit = self.excluded_if_prior_reaction_at_least
        prior = worst_prior_reaction
        if limit is not None and prior is not None and prior.is_at_least(limit):
            reasons.append(
                f"a prior {prior.value} reaction excludes this protocol "
                f"(limit: {limit.value} or worse)"
            )
        return tuple(reasons)


@dataclass(frozen=True, slots=True, kw_only=True)
class Protocol:
    """One infusion protocol: dose, bag, ladder, premedication, observation, reaction rules."""

    id: ProtocolId
    therapy_id: TherapyId
    version: str
    review_date: date
    title: str
    dose: Dose
    diluent: str
    bag_volume_ml: Cited[Decimal]
    max_rate_ml_per_h: Cited[Decimal]
    ladder: RateLadder
    premedications: tuple[Premedication, ...]
    observation: tuple[ObservationRule, ...]
    reaction_rules: tuple[ReactionRule, ...]
    eligibility: Eligibility
    off_label: bool
    concentration_mg_per_ml: Cited[Decimal] | None = None
    expected_duration_min: Cited[Decimal] | None = None
    label_duration_text: str | None = None
    diluent_volume_ml: Cited[Decimal] | None = None
    concentrate_volume_ml: Cited[Decimal] | None = None
    notes: tuple[str, ...] = ()

    def reaction_rule(self, severity: Severity) -> ReactionRule:
        for rule in self.reaction_rules:
            if rule.severity is severity:
                return rule
        raise LookupError(
            f"protocol {self.id} has no rule for {severity.value}"
        )  # pragma: no cover

    def observation_rule(self, dose_number: int) -> ObservationRule:
        for rule in self.observation:
            if rule.applies_to(dose_number):
                return rule
        raise LookupError(
            f"protocol {self.id} has no observation for dose {dose_number}"
        )  # pragma: no cover


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    value: int
    unit: IntervalUnit


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleEntry:
    """One part of a therapy's dosing schedule (e.g. alemtuzumab course 2)."""

    name: str
    protocol_ids: tuple[ProtocolId, ...]
    infusions: int
    consecutive_days: bool
    first_due_after: Interval | None
    anchor: str
    repeat_every: Interval | None
    max_repeats: int | None
    sources: tuple[Source, ...]
    note: str | None = None
    verified: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CumulativeLimit:
    """A lifetime cumulative-dose limit, per jurisdiction where labels differ."""

    jurisdiction: str
    mg_per_m2: Cited[Decimal]


@dataclass(frozen=True, slots=True, kw_only=True)
class Monitoring:
    """A therapy's monitoring calendar and its cited cadences, by name."""

    plan: MonitoringPlan
    intervals: tuple[tuple[str, Cited[Interval]], ...]

    def interval(self, name: str) -> Cited[Interval]:
        for key, value in self.intervals:
            if key == name:
                return value
        raise LookupError(f"monitoring interval '{name}' is not in the file")  # pragma: no cover


@dataclass(frozen=True, slots=True, kw_only=True)
class CumulativeDose:
    """A lifetime cumulative-dose projection at the BSA dose of ``protocol_id``."""

    protocol_id: ProtocolId


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanningTraits:
    """What the planning core needs to know about a therapy, so it never tests the drug name."""

    course_kind: CourseKind
    listed_doses: int | None = None
    gate_ids: tuple[str, ...] = ()
    monitoring: Monitoring | None = None
    pml_risk: Cited[bool] | None = None
    cumulative_dose: CumulativeDose | None = None

    @property
    def pml_risk_applies(self) -> bool:
        return self.pml_risk is not None and self.pml_risk.value


@dataclass(frozen=True, slots=True, kw_only=True)
class Therapy:
    """A drug as used in MS infusion centres, with its protocols."""

    id: TherapyId
    inn: str
    brands: tuple[str, ...]
    aliases: tuple[str, ...]
    biosimilars: tuple[str, ...]
    drug_class: str
    mechanism: Mechanism
    mechanism_summary: str
    target_antigen: str | None
    indications: tuple[str, ...]
    off_label_in_ms: bool
    label_basis: str
    review_date: date
    codes: tuple[Code, ...]
    sources: tuple[Source, ...]
    protocols: tuple[Protocol, ...]
    schedule: tuple[ScheduleEntry, ...]
    cumulative_limits: tuple[CumulativeLimit, ...] = ()
    planning: PlanningTraits | None = None
    off_label_note: str | None = None
    file: str = ""

    def protocol(self, protocol_id: str) -> Protocol:
        for protocol in self.protocols:
            if protocol.id == protocol_id:
                return protocol
        raise LookupError(f"therapy {self.id} has no protocol {protocol_id}")  # pragma: no cover

    def cumulative_limit(self, jurisdiction: str | None) -> CumulativeLimit:
        """The limit of ``jurisdiction``; when it is unknown or unlisted, the strictest one."""
        for limit in self.cumulative_limits:
            if limit.jurisdiction == jurisdiction:
                return limit
        return min(self.cumulative_limits, key=lambda lim: lim.mg_per_m2.value)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a clinician might type: INN, brands, aliases and biosimilars."""
        return (self.inn, *self.brands, *self.aliases, *self.biosimilars)

"""Pre-treatment and pre-infusion gates: pass / fail / missing, with reason and source.

A gate belongs to therapies and applies before the first dose, before each course, or before
every infusion; a gate of one jurisdiction's label or REMS (``Gate.jurisdictions``: TOUCH and
the Lemtrada REMS in the US, SmPC rules in the EU) applies there and wherever the jurisdiction
is unknown (the strictest reading: every rule applies). A **mandatory** gate that fails blocks
booking the dose; one that fails *or* is missing blocks starting it (``require_clear`` raises
``GateBlocked``). A result that is missing when a dose is booked weeks ahead may still be drawn
before the dose (a blood count since the previous dose, a same-day infection check), so at
booking it is shown, not blocking. A physician may override a *failed* gate only where the
label allows it (``Gate.overridable``, or the outcome's own ``overridable``) and only with a
written justification recorded for that dose date; a missing result is never overridden.
The gate list is ``gate_rules.GATES``; thresholds are cited in course_rules.toml.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from msinfusion.errors import GateBlocked
from msinfusion.planning.course_data import source_url
from msinfusion.planning.patient_record import Override, PatientRecord


class GateStatus(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"
    NOT_APPLICABLE = "not applicable"


class GateStage(enum.Enum):
    """Where a gate decision is made: booking the dose, or starting the infusion."""

    BOOKING = "booking"
    START = "start"


class GateWhen(enum.Enum):
    FIRST_DOSE = "before the first dose"
    EACH_COURSE = "before each course"
    EVERY_DOSE = "before every infusion"


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseContext:
    """The dose a gate is checked for."""

    therapy_id: str
    dose_number: int
    on: date
    course_start: bool
    previous_dose_on: date | None
    jurisdiction: str | None = None
    first_dose_on: date | None = None
    """The date dose 1 of the course was given (None: not given, or not known)."""
    prior_mg_per_m2: Decimal | None = None
    """Stated lifetime exposure before this course (mitoxantrone); None: not stated."""
    cumulative_before_mg_per_m2: Decimal | None = None
    dose_mg_per_m2: Decimal | None = None
    cumulative_limit_mg_per_m2: Decimal | None = None

    @property
    def is_first_dose(self) -> bool:
        return self.dose_number == 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    status: GateStatus
    reason: str
    overridable: bool | None = None  # None: the gate's own rule

    @classmethod
    def ok(cls, reason: str) -> Outcome:
        return cls(status=GateStatus.PASS, reason=reason)

    @classmethod
    def fail(cls, reason: str, *, overridable: bool | None = None) -> Outcome:
        return cls(status=GateStatus.FAIL, reason=reason, overridable=overridable)

    @classmethod
    def missing(cls, reason: str) -> Outcome:
        return cls(status=GateStatus.MISSING, reason=reason)

    @classmethod
    def not_applicable(cls, reason: str) -> Outcome:
        return cls(status=GateStatus.NOT_APPLICABLE, reason=reason)


Evaluate = Callable[[PatientRecord, DoseContext], Outcome]


@dataclass(frozen=True, slots=True, kw_only=True)
class Gate:
    id: str
    title: str
    therapies: frozenset[str]
    when: GateWhen
    mandatory: bool
    overridable: bool
    source_ids: tuple[str, ...]
    evaluate: Evaluate
    verified: bool = True
    note: str | None = None
    jurisdictions: frozenset[str] = frozenset()
    """Where the rule is law (e.g. ``{"US"}`` for a REMS); empty: everywhere."""

    def applies_in(self, jurisdiction: str | None) -> bool:
        """A gate applies in its jurisdictions and where the jurisdiction is unknown."""
        return not self.jurisdictions or jurisdiction is None or jurisdiction in self.jurisdictions

    def applies_to(self, context: DoseContext) -> bool:
        if context.therapy_id not in self.therapies or not self.applies_in(context.jurisdiction):
            return False
        if self.when is GateWhen.FIRST_DOSE:
            return context.is_first_dose
        if self.when is GateWhen.EACH_COURSE:
            return context.course_start
        return True

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(source_url(s) for s in self.source_ids)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    gate_id: str
    title: str
    when: GateWhen
    status: GateStatus
    reason: str
    mandatory: bool
    overridable: bool
    sources: tuple[str, ...]
    verified: bool
    override: Override | None = None

    @property
    def blocks(self) -> bool:
        """A mandatory gate not passed (and not validly overridden) blocks starting the dose."""
        return self.blocks_at(GateStage.START)

    def blocks_at(self, stage: GateStage) -> bool:
        """At booking only a failed gate blocks; at the start a missing result blocks too."""
        unresolved = (
            (GateStatus.FAIL,)
            if stage is GateStage.BOOKING
            else (GateStatus.FAIL, GateStatus.MISSING)
        )
        return self.mandatory and self.status in unresolved and self.override is None


def evaluate_gates(
    gates: Iterable[Gate], record: PatientRecord, context: DoseContext
) -> tuple[GateResult, ...]:
    """Every gate that applies to this dose, evaluated, with any valid override attached."""
    results = []
    for gate in gates:
        if not gate.applies_to(context):
            continue
        outcome = gate.evaluate(record, context)
        overridable = gate.overridable if outcome.overridable is None else outcome.overridable
        override = _valid_override(record, gate.id, context.on, outcome, overridable)
        results.append(
            GateResult(
                gate_id=gate.id,
                title=gate.title,
                when=gate.when,
                status=outcome.status,
                reason=outcome.reason,
                mandatory=gate.mandatory,
                overridable=overridable,
                sources=gate.sources,
                verified=gate.verified,
                override=override,
            )
        )
    return tuple(results)


def _valid_override(
    record: PatientRecord, gate_id: str, day: date, outcome: Outcome, overridable: bool
) -> Override | None:
    if outcome.status is not GateStatus.FAIL or not overridable:
        return None
    for override in record.overrides:
        same = override.gate_id == gate_id and override.on == day
        if same and override.justification and override.physician_id:
            return override
    return None


def blocking(
    results: Iterable[GateResult], stage: GateStage = GateStage.START
) -> tuple[GateResult, ...]:
    return tuple(r for r in results if r.blocks_at(stage))


def require_clear(results: Iterable[GateResult], stage: GateStage = GateStage.START) -> None:
    """Raise ``GateBlocked`` naming every blocking gate; book or start only when this passes."""
    blocked = blocking(results, stage)
    if blocked:
        raise GateBlocked(
            gate_ids=tuple(r.gate_id for r in blocked),
            reasons=tuple(f"{r.gate_id} {r.status.value}: {r.reason}" for r in blocked),
            stage=stage.value,
        )

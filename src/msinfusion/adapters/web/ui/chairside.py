"""The chairside screen of one session: plan against actual, and the actions for the next step.

Everything shown comes from the service layer's typed read (``Centre.sessions.get`` or the
outcome of the command just sent: the view with its timeline entries and rate segments, the
patient; ``Centre.catalog.plan``) and from the engine's own read functions (the next ladder step,
the rate the protocol allows now). This module only arranges and labels. The actions offered
are suggestions with pre-filled values; whether a command is allowed is decided by the engine
when it is sent, and a refusal is shown with the rule that refused it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from fractions import Fraction
from typing import Any

from msinfusion.adapters.web.ui.board import DueItem, due_items, status_label
from msinfusion.adapters.web.ui.charts import Event, Segment, StepChart, rate_chart
from msinfusion.catalog.formulary import shipped_formulary
from msinfusion.catalog.model import Protocol, ReactionAction, ReactionRule
from msinfusion.planning import InfusionPlan, after
from msinfusion.session.commands import SYMPTOMS
from msinfusion.session.due import next_rate_step
from msinfusion.session.medication import (
    PremedicationChoice,
    expected,
    premedication_choices,
)
from msinfusion.session.queries import SessionView
from msinfusion.session.rule_catalogue import soft_rules
from msinfusion.session.rules import allowed_rate_at
from msinfusion.session.segments import RateSegment, list_planned_segments
from msinfusion.session.state import Status

OVERRIDABLE_RULES = frozenset(rule.name for rule in soft_rules())
"""Refusals a physician may pass with an override reason (the engine's soft rules). The UI only
offers the reason field; the engine decides again when the command is sent."""

_MARKERS = {
    "PremedicationGiven": ("P", "premedication"),
    "VitalsRecorded": ("V", "vitals"),
    "ReactionRecorded": ("R", "reaction"),
    "RescueMedicationGiven": ("Rx", "rescue"),
    "ReactionResolved": ("✓", "resolved"),
    "AssessmentRecorded": ("A", "assessment"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineRow:
    at: datetime
    source: str  # "plan" or "actual"
    text: str
    user: str = ""
    sequence: int | None = None
    kind: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionGuide:
    severity: str
    steps: tuple[str, ...]
    note: str | None
    verified: bool
    sources: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Chairside:
    session_id: str
    version: int
    status: str
    symbol: str
    status_text: str
    state: Any
    view: SessionView
    due: tuple[DueItem, ...]
    primary: str | None
    step_rate: float | None
    start_rate: float | None
    resume_rate: float | None
    premedications: tuple[dict[str, Any], ...]
    reaction_guides: tuple[ReactionGuide, ...]
    timeline: tuple[TimelineRow, ...]
    chart: StepChart | None
    percent: int
    symptoms: tuple[str, ...] = SYMPTOMS


def _f(value: Fraction | Decimal) -> float:
    return float(value)


def to_decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def _reduce_words(factor: float | None) -> str:
    if factor == 0.5:
        return "Halve the rate (0.5 times the rate at onset)"
    return f"Reduce the rate to {factor:g} times the rate at onset"


def describe_rule(rule: ReactionRule, onset_rate: float | None) -> tuple[str, ...]:
    """What the protocol requires after a reaction of this severity, as steps to follow."""
    factor = None if rule.rate_factor_of_onset is None else float(rule.rate_factor_of_onset.value)
    target = "" if factor is None or not onset_rate else f" = {onset_rate * factor:g} mL/h now"
    steps: list[str] = []
    if rule.action is ReactionAction.REDUCE_RATE:
        steps.append(f"{_reduce_words(factor)}{target}.")
        if rule.hold_min is not None:
            steps.append(f"Hold that rate for at least {rule.hold_min.value} min.")
    elif rule.action is ReactionAction.INTERRUPT:
        steps.append("Interrupt (pause) the infusion at once and treat the symptoms.")
        if rule.resume_requires_resolution:
            steps.append("Resume only when every symptom has gone (record the resolution).")
        if factor is not None:
            steps.append(f"Resume at {factor:g} times the rate at onset{target}.")
    else:
        steps.append("Stop the infusion at once; give supportive treatment.")
    if rule.discontinue_therapy:
        steps.append("Never give this therapy again (recorded as a contraindication).")
    elif rule.re_escalation.value == "per_ladder" and rule.re_escalation_increment_ml_per_h:
        inc = rule.re_escalation_increment_ml_per_h.value
        steps.append(f"Then step up by at most {inc} mL/h per step, as tolerated.")
    elif rule.re_escalation.value == "manual":
        steps.append("Any increase after that needs a physician's override reason.")
    elif not rule.may_resume:
        steps.append("Do not resume.")
    return tuple(steps)


def reaction_guides(protocol: Protocol, onset_rate: float | None) -> tuple[ReactionGuide, ...]:
    return tuple(
        ReactionGuide(
            severity=rule.severity.value,
            steps=describe_rule(rule, onset_rate),
            note=rule.note,
            verified=rule.verified,
            sources=tuple((s.title or s.id, s.url) for s in rule.sources),
        )
        for rule in protocol.reaction_rules
    )


def _segments(segments: tuple[RateSegment, ...]) -> list[Segment]:
    return [Segment(start=s.start, end=s.end, rate_ml_per_h=_f(s.rate_ml_per_h)) for s in segments]


def build_timeline(view: SessionView, plan: InfusionPlan | None) -> tuple[TimelineRow, ...]:
    """Planned steps and premedication windows with what actually happened, in time order."""
    rows: list[TimelineRow] = [
        TimelineRow(
            at=entry.at,
            source="actual",
            text=entry.text,
            user=entry.user,
            sequence=entry.sequence,
            kind=entry.kind,
        )
        for entry in view.entries
    ]
    if plan is not None:
        for step in plan.steps:
            rows.append(
                TimelineRow(
                    at=step.start,
                    source="plan",
                    kind="step",
                    text=f"Step {step.index + 1}: {_f(step.rate_ml_per_h):g} mL/h until "
                    f"{_f(step.cumulative_volume_ml):g} mL infused",
                )
            )
        rows.append(
            TimelineRow(
                at=plan.infusion_end, source="plan", kind="end", text="Bag empty (planned end)"
            )
        )
        rows.append(
            TimelineRow(
                at=plan.observation_end,
                source="plan",
                kind="end",
                text="End of observation (planned chair release)",
            )
        )
    return tuple(sorted(rows, key=lambda r: (r.at, r.source == "plan")))


def build_chart(
    view: SessionView, plan: InfusionPlan | None, now: datetime, zone: tzinfo
) -> StepChart | None:
    state = view.state
    if state.status is Status.NEW or state.max_rate_ml_per_h <= 0:
        return None
    marks = [
        Event(at=entry.at, symbol=found[0], kind=found[1], title=entry.text)
        for entry in view.entries
        if (found := _MARKERS.get(entry.kind)) is not None
    ]
    return rate_chart(
        plan=_segments(list_planned_segments(plan)),
        actual=_segments(view.segments),
        events=marks,
        now=now,
        max_rate_ml_per_h=_f(state.max_rate_ml_per_h),
        zone=zone,
    )


def ordered_first(
    choices: tuple[PremedicationChoice, ...], ordered: str | None
) -> tuple[PremedicationChoice, ...]:
    """The pick-list with the physician's ordered drug first (the form pre-fills the first)."""
    return tuple(sorted(choices, key=lambda c: c.drug != ordered))


def _premedications(
    view: SessionView, protocol: Protocol, ordered: Mapping[str, str]
) -> tuple[dict[str, Any], ...]:
    given = {g.satisfies: g.at for g in view.state.premedications}
    return tuple(
        {
            "drug": p.drug,
            "dose": p.dose,
            "route": p.route or "",
            "required": p.required,
            "given_at": given.get(p.drug),
            "verified": p.verified,
            "expected": expected(p),
            "choices": ordered_first(
                premedication_choices(p, shipped_formulary()), ordered.get(p.drug)
            ),
            "ordered": ordered.get(p.drug),
        }
        for p in protocol.premedications
        if p.applies_to_course_days is None
        or view.state.course_day is None
        or view.state.course_day in p.applies_to_course_days
    )


def _rates(
    view: SessionView, protocol: Protocol | None
) -> tuple[float | None, float | None, float | None]:
    """(confirm-step rate, start rate, resume rate) suggested from the engine's own rules."""
    state = view.state
    if protocol is None:
        return None, None, None
    step = next_rate_step(state, protocol) if state.status is Status.INFUSING else None
    start = _f(protocol.ladder.steps[0].rate_ml_per_h)
    resume = None
    if state.status is Status.PAUSED:
        allowed = allowed_rate_at(state, protocol, state.running_min)
        resume = _f(min(state.last_rate_ml_per_h, allowed))
    return (None if step is None else _f(step.rate_ml_per_h)), start, resume


def build_chairside(
    *,
    session_id: str,
    version: int,
    view: SessionView,
    protocol: Protocol | None,
    plan: InfusionPlan | None,
    now: datetime,
    zone: tzinfo,
    ordered_premedications: Mapping[str, str] | None = None,
) -> Chairside:
    state = view.state
    symbol, text = status_label(state.status.value)
    due = due_items(view.due)
    step_rate, start_rate, resume_rate = _rates(view, protocol)
    bag = _f(state.bag_volume_ml)
    percent = 0 if bag <= 0 else min(100, round(100 * _f(state.volume_ml) / bag))
    onset = _f(state.rate_ml_per_h) if state.rate_ml_per_h else None
    return Chairside(
        session_id=session_id,
        version=version,
        status=state.status.value,
        symbol=symbol,
        status_text=text,
        state=state,
        view=view,
        due=due,
        primary=due[0].action if due else None,
        step_rate=step_rate,
        start_rate=start_rate,
        resume_rate=resume_rate,
        premedications=()
        if protocol is None
        else _premedications(view, protocol, ordered_premedications or {}),
        reaction_guides=() if protocol is None else reaction_guides(protocol, onset),
        timeline=build_timeline(view, plan),
        chart=build_chart(view, plan, now, zone),
        percent=percent,
    )


def plan_start(view: SessionView, now: datetime) -> datetime:
    """When the plan is drawn from: the actual start, else the earliest start now allowed."""
    if view.state.infusion_started_at is not None:
        return view.state.infusion_started_at
    for item in view.due:
        if item.action == "start-infusion" and item.at is not None:
            return max(item.at, now)
    return after(now, timedelta(minutes=30))

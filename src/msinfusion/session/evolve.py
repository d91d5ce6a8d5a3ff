"""``evolve``: state + event -> state, and ``replay``: the fold over a whole stream.

Pure and total over well-formed streams: every event first advances the volume and running-time
integrals to its own time, then applies its fact. Replaying n events is O(n).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from fractions import Fraction
from typing import Any

from msinfusion.catalog.model import ReactionAction, ReEscalation, Severity
from msinfusion.session import events as ev
from msinfusion.session.alerting import (
    apply_acknowledged,
    apply_cleared,
    apply_raised,
    apply_vitals,
)
from msinfusion.session.rules import RE_ESCALATION_INTERVAL_MIN
from msinfusion.session.state import (
    Assessment,
    GivenPremedication,
    ReactionLimit,
    SessionState,
    Status,
    advance,
)


def _checked_in(state: SessionState, e: ev.SessionCheckedIn) -> SessionState:
    return replace(
        state,
        status=Status.CHECKED_IN,
        patient_id=e.patient_id,
        protocol_id=e.protocol_id,
        protocol_version=e.protocol_version,
        dose_number=e.dose_number,
        course_day=e.course_day,
        dose_mg=e.dose_mg,
        bag_volume_ml=e.bag_volume_ml,
        concentration_mg_per_ml=e.concentration_mg_per_ml,
        max_rate_ml_per_h=e.max_rate_ml_per_h,
        observation_min=e.observation_min,
    )


def _assessed(state: SessionState, e: ev.AssessmentRecorded) -> SessionState:
    entry = Assessment(check=e.check, passed=e.passed, findings=e.findings)
    return replace(state, assessments=(*state.assessments, entry))


def _premedicated(state: SessionState, e: ev.PremedicationGiven) -> SessionState:
    given = GivenPremedication(drug=e.drug, satisfies=e.satisfies, at=e.at)
    return replace(state, premedications=(*state.premedications, given))


def _set_rate(state: SessionState, rate: Fraction) -> SessionState:
    """Run at ``rate``; a rate above a reaction ceiling is one re-escalation step."""
    limit = state.reaction_limit
    if limit is not None and rate > limit.ceiling_ml_per_h:
        if rate >= state.max_rate_ml_per_h:
            limit = None
        else:
            limit = replace(
                limit,
                ceiling_ml_per_h=rate,
                next_increase_running_min=state.running_min + RE_ESCALATION_INTERVAL_MIN,
                escalations=limit.escalations + 1,
            )
    return replace(
        state,
        status=Status.INFUSING,
        rate_ml_per_h=rate,
        last_rate_ml_per_h=rate,
        reaction_limit=limit,
    )


def _started(state: SessionState, e: ev.InfusionStarted) -> SessionState:
    return _set_rate(replace(state, infusion_started_at=e.at), e.rate_ml_per_h)


def _rate_changed(state: SessionState, e: ev.RateChanged) -> SessionState:
    return _set_rate(state, e.rate_ml_per_h)


def _resumed(state: SessionState, e: ev.InfusionResumed) -> SessionState:
    return _set_rate(replace(state, resume_decision_required=False), e.rate_ml_per_h)


def _paused(state: SessionState, e: ev.InfusionPaused) -> SessionState:
    return replace(state, status=Status.PAUSED, rate_ml_per_h=Fraction(0))


def _reaction(state: SessionState, e: ev.ReactionRecorded) -> SessionState:
    severity = Severity(e.severity)
    worst = state.worst_reaction
    if worst is None or severity.is_at_least(Severity(worst)):
        worst = severity.value
    limit = state.reaction_limit
    rate_action = e.action in (ReactionAction.REDUCE_RATE.value, ReactionAction.INTERRUPT.value)
    if rate_action and e.rate_cap_ml_per_h is not None and e.onset_rate_ml_per_h is not None:
        limit = ReactionLimit(
            onset_rate_ml_per_h=e.onset_rate_ml_per_h,
            ceiling_ml_per_h=e.rate_cap_ml_per_h,
            next_increase_running_min=e.first_increase_after_running_min or state.running_min,
            re_escalation=ReEscalation(e.re_escalation),
            increment_ml_per_h=e.re_escalation_increment_ml_per_h,
        )
    open_severity = state.open_reaction_severity
    if open_severity is None or severity.is_at_least(Severity(open_severity)):
        open_severity = severity.value
    severe_at = e.at if severity.is_at_least(Severity.SEVERE) else state.severe_reaction_at
    return replace(
        state,
        worst_reaction=worst,
        open_reaction_severity=open_severity,
        severe_reaction_at=severe_at,
        resume_decision_required=state.resume_decision_required or e.resume_requires_decision,
        reaction_limit=limit,
        reaction_open=True,
        resolution_required=state.resolution_required or e.requires_resolution,
        resume_allowed=state.resume_allowed and e.may_resume,
        therapy_contraindicated=state.therapy_contraindicated or e.discontinue_therapy,
    )


def _resolved(state: SessionState, e: ev.ReactionResolved) -> SessionState:
    return replace(
        state, reaction_open=False, resolution_required=False, open_reaction_severity=None
    )


def _ended(state: SessionState, outcome: str, volume: Fraction, at: Any) -> SessionState:
    return replace(
        state,
        status=Status.OBSERVATION,
        rate_ml_per_h=Fraction(0),
        volume_ml=volume,
        infusion_ended_at=at,
        outcome=outcome,
    )


def _completed(state: SessionState, e: ev.InfusionCompleted) -> SessionState:
    return _ended(state, "completed", e.volume_infused_ml, e.at)


def _stopped(state: SessionState, e: ev.InfusionStopped) -> SessionState:
    return _ended(state, "stopped", e.volume_infused_ml, e.at)


def _discharged(state: SessionState, e: ev.PatientDischarged) -> SessionState:
    return replace(state, status=Status.DISCHARGED, discharged_at=e.at, rate_ml_per_h=Fraction(0))


def _recorded_only(state: SessionState, e: ev.Event) -> SessionState:
    return state


def _pump_reported(state: SessionState, e: ev.PumpEventRecorded) -> SessionState:
    """A rate the engine refused but the pump runs at: the record follows the pump."""
    if e.pump_rate_ml_per_h_applied is None:
        return state
    return _set_rate(state, e.pump_rate_ml_per_h_applied)


_APPLY: dict[type[ev.Event], Callable[[SessionState, Any], SessionState]] = {
    ev.SessionCheckedIn: _checked_in,
    ev.AssessmentRecorded: _assessed,
    ev.PremedicationGiven: _premedicated,
    ev.InfusionStarted: _started,
    ev.RateChanged: _rate_changed,
    ev.InfusionPaused: _paused,
    ev.InfusionResumed: _resumed,
    ev.VitalsRecorded: apply_vitals,
    ev.ReactionRecorded: _reaction,
    ev.RescueMedicationGiven: _recorded_only,
    ev.ReactionResolved: _resolved,
    ev.InfusionCompleted: _completed,
    ev.InfusionStopped: _stopped,
    ev.LineEventRecorded: _recorded_only,
    ev.PatientDischarged: _discharged,
    ev.EntryCorrected: _recorded_only,
    ev.AlertRaised: apply_raised,
    ev.AlertAcknowledged: apply_acknowledged,
    ev.AlertConditionCleared: apply_cleared,
    ev.VerbalOrderCosigned: _recorded_only,
    ev.PumpEventRecorded: _pump_reported,
}


def evolve(state: SessionState, event: ev.Event) -> SessionState:
    """The state after ``event``: integrals advanced to ``event.at``, then the fact applied."""
    advanced = advance(state, event.at)
    if advanced.last_at is None:
        advanced = replace(advanced, last_at=event.at)
    applied = _APPLY[type(event)](advanced, event)
    return replace(applied, version=state.version + 1)


def replay(events: Iterable[ev.Event], state: SessionState | None = None) -> SessionState:
    """Fold ``events`` (in stream order) from ``state`` (default: the empty session)."""
    current = SessionState() if state is None else state
    for event in events:
        current = evolve(current, event)
    return current

"""``decide``: state + command + protocol -> the events it causes, or ``CommandRefused(rule)``.

Pure: the time is the command's ``at``; the protocol is passed in (for ``CheckIn`` the protocol
it names, afterwards the session's own). ``state`` is the chart as it was at ``at``: entries are
decided in clinical order (``session.chart``), so a late entry is decided against what had
happened by its own time. Guards run in this order, and the first one that fails names its
rule: ``discharged``, ``not-checked-in`` / ``already-checked-in``, ``therapy-discontinued``,
then the command's own rules (see ``docs/session-format.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from msinfusion.catalog.formulary import shipped_formulary
from msinfusion.catalog.ladder import as_fraction
from msinfusion.catalog.model import Protocol, Severity
from msinfusion.errors import CommandRefused, InvalidCommand, PlanningError
from msinfusion.planning import plan_infusion
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session.alerting import as_vital_signs, decide_acknowledge, decide_alerts
from msinfusion.session.medication import check_medication, premedication_counted
from msinfusion.session.pump_events import implied_command, record_pump_event
from msinfusion.session.reactions import decide_reaction, require_news2_clear
from msinfusion.session.rules import (
    COMPLETION_TOLERANCE,
    check_rate,
    format_number,
    premedication_deviations,
)
from msinfusion.session.state import SessionState, Status, advance, minutes_between

Events = tuple[ev.Event, ...]

ALLOWED_AFTER_DISCONTINUATION: tuple[type[cmd.Command], ...] = (
    cmd.RecordVitals,
    cmd.RecordReaction,
    cmd.GiveRescueMedication,
    cmd.ResolveReaction,
    cmd.RecordAssessment,
    cmd.RecordLineEvent,
    cmd.CorrectEntry,
    cmd.Discharge,
    cmd.AcknowledgeAlert,
    cmd.CosignVerbalOrder,
    cmd.RecordPumpEvent,
)
"""After a reaction that contraindicates the therapy, only care and record-keeping go on."""


def decide(state: SessionState, command: cmd.Command, protocol: Protocol) -> Events:
    """The events ``command`` causes at ``command.at``; raises ``CommandRefused`` with a rule."""
    if state.status is not Status.NEW and protocol.id != state.protocol_id:
        raise InvalidCommand(
            f"protocol {protocol.id} is not this session's protocol {state.protocol_id}",
            field="protocol_id",
        )
    _guard(state, command)
    now = advance(state, command.at)
    return _HANDLERS[type(command)](now, command, protocol)


def _guard(state: SessionState, command: cmd.Command) -> None:
    if state.status is Status.DISCHARGED:
        raise CommandRefused("discharged", "the patient has been discharged; the session is closed")
    if state.status is Status.NEW and not isinstance(command, cmd.CheckIn):
        raise CommandRefused("not-checked-in", "the patient must be checked in first")
    if state.status is not Status.NEW and isinstance(command, cmd.CheckIn):
        raise CommandRefused("already-checked-in", "this session already has a check-in")
    if state.therapy_contraindicated and not isinstance(command, ALLOWED_AFTER_DISCONTINUATION):
        raise CommandRefused(
            "therapy-discontinued",
            "a life-threatening reaction stopped this infusion for good; "
            "the therapy is contraindicated",
        )


def _base(command: cmd.Command) -> dict[str, Any]:
    return {"at": command.at, "user": command.user}


def _check_in(state: SessionState, c: cmd.CheckIn, protocol: Protocol) -> Events:
    try:
        plan = plan_infusion(
            protocol,
            c.at,
            dose_number=c.dose_number,
            height_cm=None if c.height_cm is None else _decimal(c.height_cm),
            weight_kg=None if c.weight_kg is None else _decimal(c.weight_kg),
            bag_volume_ml=None if c.bag_volume_ml is None else _decimal(c.bag_volume_ml),
            course_day=c.course_day,
            worst_prior_reaction=c.worst_prior_reaction,
        )
    except PlanningError as error:
        raise CommandRefused("protocol-eligibility", error.message) from error
    return (
        ev.SessionCheckedIn(
            **_base(c),
            patient_id=c.patient_id,
            protocol_id=protocol.id,
            protocol_version=protocol.version,
            dose_number=c.dose_number,
            course_day=c.course_day,
            dose_mg=plan.dose_mg,
            bag_volume_ml=plan.bag_volume_ml,
            concentration_mg_per_ml=plan.concentration_mg_per_ml,
            max_rate_ml_per_h=as_fraction(protocol.max_rate_ml_per_h.value),
            observation_min=as_fraction(
                protocol.observation_rule(c.dose_number).observation_min.value
            ),
        ),
    )


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def _assessment(state: SessionState, c: cmd.RecordAssessment, protocol: Protocol) -> Events:
    return (ev.AssessmentRecorded(**_base(c), check=c.check, passed=c.passed, findings=c.findings),)


def _premedication(state: SessionState, c: cmd.GivePremedication, protocol: Protocol) -> Events:
    checked = check_medication(c.drug, c.dose, c.route, shipped_formulary())
    satisfies = premedication_counted(
        protocol, c.drug, checked, c.for_premedication, counts=c.counts_as_premedication
    )
    return (
        ev.PremedicationGiven(
            **_base(c),
            drug=c.drug,
            dose=c.dose,
            route=checked.route,
            satisfies=satisfies,
            dose_mg=checked.dose_mg,
            allergy_acknowledged=c.allergy_acknowledged,
        ),
    )


def _start(state: SessionState, c: cmd.StartInfusion, protocol: Protocol) -> Events:
    if state.status is not Status.CHECKED_IN:
        raise CommandRefused("infusion-already-started", "the infusion has already been started")
    latest = state.latest_assessments()
    if not latest:
        raise CommandRefused(
            "assessment-missing", "record the pre-infusion assessment before the start"
        )
    failed = [a for a in latest if not a.passed]
    if failed:
        detail = "; ".join(f"{a.check}: {a.findings or 'failed'}" for a in failed)
        raise CommandRefused("assessment-failed", f"a mandatory check failed ({detail})")
    _require_resolution(state)
    deviations = premedication_deviations(state, protocol, c.at)
    if deviations and c.override_reason is None:
        raise CommandRefused(
            "premedication-window",
            "; ".join(deviations) + " (starting needs a physician's authorisation: their "
            "override_reason at the chair, or a verbal order with verbal_order_by)",
        )
    check_rate(state, protocol, c.rate_ml_per_h, Fraction(0), None)
    return (
        ev.InfusionStarted(
            **_base(c),
            rate_ml_per_h=c.rate_ml_per_h,
            override_reason=c.override_reason,
            deviations=deviations,
            verbal_order_by=c.verbal_order_by if c.override_reason is not None else None,
        ),
    )


def _require_resolution(state: SessionState) -> None:
    if state.resolution_required:
        raise CommandRefused("reaction-unresolved", "record the reaction's resolution first")


def _require_running(state: SessionState) -> None:
    if state.status is not Status.INFUSING:
        raise CommandRefused(
            "infusion-not-running", f"the infusion is not running (status {state.status.value})"
        )
    if state.is_bag_empty:
        raise CommandRefused("bag-empty", "the bag is empty: record CompleteInfusion")


def _change_rate(state: SessionState, c: cmd.ChangeRate, protocol: Protocol) -> Events:
    _require_running(state)
    result = check_rate(state, protocol, c.rate_ml_per_h, state.running_min, c.override_reason)
    return (
        ev.RateChanged(
            **_base(c),
            rate_ml_per_h=c.rate_ml_per_h,
            previous_rate_ml_per_h=state.rate_ml_per_h,
            cause="nurse",
            override_reason=c.override_reason if result.override_used else None,
        ),
    )


def _pause(state: SessionState, c: cmd.PauseInfusion, protocol: Protocol) -> Events:
    _require_running(state)
    return (ev.InfusionPaused(**_base(c), reason=c.reason),)


def _resume(state: SessionState, c: cmd.ResumeInfusion, protocol: Protocol) -> Events:
    if state.status is not Status.PAUSED:
        raise CommandRefused(
            "infusion-not-paused", f"the infusion is not paused (status {state.status.value})"
        )
    if not state.resume_allowed:
        raise CommandRefused(
            "reaction-no-resume", "after this reaction the protocol forbids resuming"
        )
    _require_resolution(state)
    if state.resume_decision_required and not (c.decision_note or "").strip():
        raise CommandRefused(
            "reaction-resume-decision",
            "the protocol gives no resume rule after this reaction: record the nurse's or "
            "prescriber's decision in decision_note",
        )
    require_news2_clear(state, c, "resuming")
    check_rate(state, protocol, c.rate_ml_per_h, state.running_min, c.override_reason)
    return (
        ev.InfusionResumed(
            **_base(c),
            rate_ml_per_h=c.rate_ml_per_h,
            override_reason=c.override_reason,
            verbal_order_by=c.verbal_order_by,
            decision_note=c.decision_note,
        ),
    )


def _vitals(state: SessionState, c: cmd.RecordVitals, protocol: Protocol) -> Events:
    """The vital signs, then the alerts they raise or clear (``session.alerting``)."""
    vitals = as_vital_signs(c, at=c.at, user=c.user)
    alerts = decide_alerts(state, vitals, therapy_id=protocol.therapy_id, at=c.at, user=c.user)
    return (
        ev.VitalsRecorded(
            **_base(c),
            systolic_mmhg=c.systolic_mmhg,
            diastolic_mmhg=c.diastolic_mmhg,
            heart_rate_bpm=c.heart_rate_bpm,
            spo2_pct=c.spo2_pct,
            temperature_c=c.temperature_c,
            respiratory_rate_per_min=c.respiratory_rate_per_min,
            consciousness=None if c.consciousness is None else c.consciousness.value,
            supplemental_oxygen=c.supplemental_oxygen,
            mean_arterial_mmhg=c.mean_arterial_mmhg,
        ),
        *alerts,
    )


def _acknowledge(state: SessionState, c: cmd.AcknowledgeAlert, protocol: Protocol) -> Events:
    return decide_acknowledge(state, c)


def _rescue(state: SessionState, c: cmd.GiveRescueMedication, protocol: Protocol) -> Events:
    checked = check_medication(c.drug, c.dose, c.route, shipped_formulary())
    return (
        ev.RescueMedicationGiven(
            **_base(c),
            drug=c.drug,
            dose=c.dose,
            route=checked.route,
            dose_mg=checked.dose_mg,
            allergy_acknowledged=c.allergy_acknowledged,
        ),
    )


def _cosign(state: SessionState, c: cmd.CosignVerbalOrder, protocol: Protocol) -> Events:
    """The entry and its physician are checked against the chart by the service layer."""
    return (ev.VerbalOrderCosigned(**_base(c), entry_sequence=c.entry_sequence),)


def _resolve(state: SessionState, c: cmd.ResolveReaction, protocol: Protocol) -> Events:
    if not state.reaction_open:
        raise CommandRefused("no-open-reaction", "there is no unresolved reaction")
    severity = state.open_reaction_severity
    if severity is not None and Severity(severity).is_at_least(Severity.SEVERE):
        require_news2_clear(state, c, "resolving")
    return (
        ev.ReactionResolved(
            **_base(c),
            note=c.note,
            override_reason=c.override_reason,
            verbal_order_by=c.verbal_order_by,
        ),
    )


def _require_infusing_or_paused(state: SessionState) -> None:
    if state.status not in (Status.INFUSING, Status.PAUSED):
        raise CommandRefused(
            "infusion-not-running", f"no infusion is in progress (status {state.status.value})"
        )


def _complete(state: SessionState, c: cmd.CompleteInfusion, protocol: Protocol) -> Events:
    _require_infusing_or_paused(state)
    if state.remaining_volume_ml > state.bag_volume_ml * COMPLETION_TOLERANCE:
        raise CommandRefused(
            "bag-not-empty",
            f"{format_number(state.remaining_volume_ml)} mL remain in the bag; stop the infusion "
            "with StopInfusion and a reason to end it early",
        )
    return (
        ev.InfusionCompleted(
            **_base(c), volume_infused_ml=state.volume_ml, dose_delivered_mg=state.dose_delivered_mg
        ),
    )


def _stop(state: SessionState, c: cmd.StopInfusion, protocol: Protocol) -> Events:
    _require_infusing_or_paused(state)
    return (
        ev.InfusionStopped(
            **_base(c),
            reason=c.reason,
            volume_infused_ml=state.volume_ml,
            dose_delivered_mg=state.dose_delivered_mg,
            due_to_reaction=False,
        ),
    )


def _line(state: SessionState, c: cmd.RecordLineEvent, protocol: Protocol) -> Events:
    return (ev.LineEventRecorded(**_base(c), kind=c.kind, note=c.note),)


def _discharge(state: SessionState, c: cmd.Discharge, protocol: Protocol) -> Events:
    if state.status in (Status.INFUSING, Status.PAUSED):
        raise CommandRefused("infusion-running", "complete or stop the infusion before discharge")
    end = state.observation_end
    if end is not None and c.at < end:
        remaining = minutes_between(c.at, end)
        raise CommandRefused(
            "observation",
            f"post-infusion observation of {format_number(state.observation_min)} min ends at "
            f"{end.isoformat()} ({format_number(remaining)} min from now)",
        )
    return (ev.PatientDischarged(**_base(c), note=c.note),)


def _correct(state: SessionState, c: cmd.CorrectEntry, protocol: Protocol) -> Events:
    if not 1 <= c.corrects_sequence <= state.version:
        raise CommandRefused(
            "correction-target",
            f"there is no event number {c.corrects_sequence} (1 to {state.version})",
        )
    return (
        ev.EntryCorrected(
            **_base(c),
            corrects_sequence=c.corrects_sequence,
            reason=c.reason,
            correction=c.correction,
            corrected_at=c.corrected_at,
        ),
    )


def _pump(state: SessionState, c: cmd.RecordPumpEvent, protocol: Protocol) -> Events:
    """The fact the pump's report implies, decided by the usual rules; refused, the report is
    still recorded as the pump's truth with an alert (``session.pump_events``)."""
    implied = implied_command(state, c)
    if implied is None:
        return record_pump_event(state, c, (), None)
    try:
        _guard(state, implied)
        events = _HANDLERS[type(implied)](state, implied, protocol)
    except CommandRefused as refusal:
        return record_pump_event(state, c, (), refusal)
    return record_pump_event(state, c, events, None)


_HANDLERS: dict[type[cmd.Command], Callable[[SessionState, Any, Protocol], Events]] = {
    cmd.CheckIn: _check_in,
    cmd.RecordAssessment: _assessment,
    cmd.GivePremedication: _premedication,
    cmd.StartInfusion: _start,
    cmd.ChangeRate: _change_rate,
    cmd.PauseInfusion: _pause,
    cmd.ResumeInfusion: _resume,
    cmd.RecordVitals: _vitals,
    cmd.RecordReaction: decide_reaction,
    cmd.GiveRescueMedication: _rescue,
    cmd.ResolveReaction: _resolve,
    cmd.CompleteInfusion: _complete,
    cmd.StopInfusion: _stop,
    cmd.RecordLineEvent: _line,
    cmd.Discharge: _discharge,
    cmd.CorrectEntry: _correct,
    cmd.AcknowledgeAlert: _acknowledge,
    cmd.CosignVerbalOrder: _cosign,
    cmd.RecordPumpEvent: _pump,
}

"""A pump's report, decided by the engine: the fact it implies, or the pump's truth and an alert.

A pump reports what it did (IHE IPEC PCD-10), it does not ask. ``implied_command`` says which
ordinary session command the report amounts to, given the chart at its time — a start, a rate
change, a resume, a pause, the completion — or None when the chart already says so (the pump
confirming what the nurse charted). ``decide`` runs that command through the usual rules. When
the rules refuse it (a rate set by hand above the ladder step, say), ``record_pump_event`` still
records the report, names the rule it broke, and raises an alert: the record holds what the
pump did, and the nurse is told. While the infusion runs, a refused rate becomes the record's
rate (``pump_rate_ml_per_h_applied``) so that volumes follow the pump.

>>> from datetime import datetime, UTC
>>> from fractions import Fraction
>>> from msinfusion.session.state import SessionState, Status
>>> running = SessionState(status=Status.INFUSING, rate_ml_per_h=Fraction(50))
>>> at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
>>> report = cmd.RecordPumpEvent(at=at, user="device:P1", pump_id="P1",
...                              kind="delivery-started", rate_ml_per_h=Fraction(100))
>>> type(implied_command(running, report)).__name__
'ChangeRate'
>>> implied_command(running, dataclasses.replace(report, rate_ml_per_h=Fraction(50))) is None
True
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from msinfusion.errors import CommandRefused
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session.rules import format_number
from msinfusion.session.state import SessionState, Status

Events = tuple[ev.Event, ...]

PUMP_RATE_CHANGE = "pump"
"""``RateChanged.cause`` of a rate the pump reported (the nurse's are ``nurse``)."""


def implied_command(  # noqa: PLR0911 - one return per report kind and chart status
    state: SessionState, c: cmd.RecordPumpEvent
) -> cmd.Command | None:
    """The session command the pump's report amounts to at ``c.at`` (None: nothing changes)."""
    at, user = c.at, c.user
    if c.kind == "delivery-started" and c.rate_ml_per_h is not None:
        if state.status is Status.CHECKED_IN:
            return cmd.StartInfusion(at=at, user=user, rate_ml_per_h=c.rate_ml_per_h)
        if state.status is Status.PAUSED:
            return cmd.ResumeInfusion(at=at, user=user, rate_ml_per_h=c.rate_ml_per_h)
        if state.status is Status.INFUSING and c.rate_ml_per_h != state.rate_ml_per_h:
            return cmd.ChangeRate(at=at, user=user, rate_ml_per_h=c.rate_ml_per_h)
        return None
    if c.kind == "delivery-stopped" and state.status is Status.INFUSING:
        return cmd.PauseInfusion(at=at, user=user, reason=f"stopped at pump {c.pump_id}")
    if c.kind == "alarm" and state.status is Status.INFUSING:
        return cmd.PauseInfusion(at=at, user=user, reason=f"pump {c.pump_id} alarm: {c.alarm}")
    if c.kind == "delivery-complete" and state.status in (Status.INFUSING, Status.PAUSED):
        return cmd.CompleteInfusion(at=at, user=user)
    return None


def as_pump_events(events: Events) -> Events:
    """The engine's events for a pump report: a rate change is marked as the pump's."""
    return tuple(
        dataclasses.replace(e, cause=PUMP_RATE_CHANGE) if isinstance(e, ev.RateChanged) else e
        for e in events
    )


def record_pump_event(
    state: SessionState, c: cmd.RecordPumpEvent, implied: Events, refusal: CommandRefused | None
) -> Events:
    """The report as a ``PumpEventRecorded`` (volumes side by side), then the engine's own
    events for it, then one alert per problem: a refused fact, a volume difference above the
    centre's tolerance, an alarm, a bolus (no MS infusion protocol has one)."""
    difference = None if c.pump_volume_ml is None else c.pump_volume_ml - state.volume_ml
    applied = None
    if refusal is not None and c.kind == "delivery-started" and state.status is Status.INFUSING:
        applied = c.rate_ml_per_h
    recorded = ev.PumpEventRecorded(
        at=c.at,
        user=c.user,
        pump_id=c.pump_id,
        kind=c.kind,
        rate_ml_per_h=c.rate_ml_per_h,
        pump_volume_ml=c.pump_volume_ml,
        engine_volume_ml=state.volume_ml,
        volume_difference_ml=difference,
        order_id=c.order_id,
        alarm=c.alarm,
        contradiction=None if refusal is None else refusal.rule,
        pump_rate_ml_per_h_applied=applied,
    )
    line: Events = ()
    if c.kind == "alarm" and c.alarm == "occlusion":
        line = (ev.LineEventRecorded(at=c.at, user=c.user, kind="line-occluded", note=None),)
    problems = _problems(c, refusal, difference)
    count = len(state.alerts)
    alerts = tuple(
        ev.AlertRaised(
            at=c.at,
            user=c.user,
            alert_id=f"alert-{count + i}",
            key=f"{rule}:{c.pump_id}:{c.at.isoformat()}",
            rule=rule,
            priority="high",
            parameter=None,
            values=values,
            message=message,
            suggested_action=action,
        )
        for i, (rule, values, message, action) in enumerate(problems, start=1)
    )
    return (recorded, *as_pump_events(implied), *line, *alerts)


Problem = tuple[str, tuple[str, ...], str, str]


def _problems(
    c: cmd.RecordPumpEvent, refusal: CommandRefused | None, difference: Fraction | None
) -> list[Problem]:
    found: list[Problem] = []
    if refusal is not None:
        found.append(
            (
                "pump-contradicts-record",
                (f"rule={refusal.rule}", f"pump={c.pump_id}"),
                f"pump {c.pump_id} reports {c.kind}"
                + (f" at {format_number(c.rate_ml_per_h)} mL/h" if c.rate_ml_per_h else "")
                + f", which the record refuses: {refusal.reason}",
                "check the pump now; the record keeps what the pump reported",
            )
        )
    tolerance = c.volume_tolerance_ml
    if difference is not None and tolerance is not None and abs(difference) > tolerance:
        found.append(
            (
                "pump-volume-difference",
                (f"difference_ml={format_number(difference)}", f"pump={c.pump_id}"),
                f"pump {c.pump_id} reports {format_number(c.pump_volume_ml or Fraction(0))} mL "
                f"infused, {format_number(difference)} mL from the record (tolerance "
                f"{format_number(tolerance)} mL)",
                "compare the pump's volume with the bag and the chart",
            )
        )
    if c.kind == "alarm":
        found.append(
            (
                "pump-alarm",
                (f"alarm={c.alarm}", f"pump={c.pump_id}"),
                f"pump {c.pump_id} alarm: {c.alarm}; delivery stopped",
                "go to the pump, clear the cause, resume from the chairside",
            )
        )
    if c.kind == "bolus":
        found.append(
            (
                "pump-bolus",
                (f"pump={c.pump_id}",),
                f"pump {c.pump_id} reports a bolus; the protocol has none",
                "check the pump and the patient",
            )
        )
    return found

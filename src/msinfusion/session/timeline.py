"""The human-readable timeline: one typed entry per event, in clinical words.

``list_timeline_entries`` is the read model screens format (the chairside timeline and chart
markers); ``list_timeline`` is its one-line text form, the ``timeline`` key of the JSON view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Any

from msinfusion.session import events as ev
from msinfusion.session.rules import format_number as n


def _rate(value: Fraction) -> str:
    return f"{n(value)} mL/h"


def _checked_in(e: ev.SessionCheckedIn) -> str:
    return (
        f"Checked in for {e.protocol_id} v{e.protocol_version}, dose number {e.dose_number}: "
        f"{n(e.dose_mg)} mg in {n(e.bag_volume_ml)} mL"
    )


def _assessed(e: ev.AssessmentRecorded) -> str:
    verdict = "passed" if e.passed else "FAILED"
    return f"Assessment {e.check} {verdict}" + (f": {e.findings}" if e.findings else "")


def _premed(e: ev.PremedicationGiven) -> str:
    counts = f" (counts as {e.satisfies})" if e.satisfies else " (not a protocol premedication)"
    allergy = "; ALLERGY WARNING acknowledged" if e.allergy_acknowledged else ""
    return f"Premedication {e.drug} {e.dose} {e.route}{counts}{allergy}"


def _started(e: ev.InfusionStarted) -> str:
    text = f"Infusion started at {_rate(e.rate_ml_per_h)}"
    if e.deviations:
        text += f"; OVERRIDE ({e.override_reason}): " + "; ".join(e.deviations)
    return text + _verbal(e.verbal_order_by)


def _verbal(physician: str | None) -> str:
    return "" if physician is None else f" [verbal order of {physician}, to be co-signed]"


def _rate_changed(e: ev.RateChanged) -> str:
    why = " for a reaction" if e.cause == "reaction" else ""
    override = f" (override: {e.override_reason})" if e.override_reason else ""
    return f"Rate {_rate(e.previous_rate_ml_per_h)} -> {_rate(e.rate_ml_per_h)}{why}{override}"


def _vitals(e: ev.VitalsRecorded) -> str:
    parts = [
        f"BP {n(e.systolic_mmhg)}/{n(e.diastolic_mmhg)} mmHg"
        if e.systolic_mmhg is not None
        else "",
        f"MAP {n(e.mean_arterial_mmhg)} mmHg" if e.mean_arterial_mmhg is not None else "",
        f"HR {n(e.heart_rate_bpm)}/min" if e.heart_rate_bpm is not None else "",
        f"SpO2 {n(e.spo2_pct)}%" if e.spo2_pct is not None else "",
        f"T {n(e.temperature_c)} C" if e.temperature_c is not None else "",
        f"RR {n(e.respiratory_rate_per_min)}/min" if e.respiratory_rate_per_min is not None else "",
        f"ACVPU {e.consciousness}" if e.consciousness is not None else "",
        "" if e.supplemental_oxygen is None else "on oxygen" if e.supplemental_oxygen else "on air",
    ]
    return "Vitals " + ", ".join(p for p in parts if p)


def _reaction(e: ev.ReactionRecorded) -> str:
    grade = f" (CTCAE grade {e.ctcae_grade})" if e.ctcae_grade else ""
    text = f"{e.severity.capitalize()} reaction{grade}: {', '.join(e.symptoms)}; rule {e.action}"
    if e.rate_cap_ml_per_h is not None and e.onset_rate_ml_per_h is not None:
        text += f", at most {_rate(e.rate_cap_ml_per_h)} ({_rate(e.onset_rate_ml_per_h)} at onset)"
    if e.discontinue_therapy:
        text += "; THERAPY CONTRAINDICATED"
    return text


def _stopped(e: ev.InfusionStopped) -> str:
    return (
        f"Infusion stopped ({e.reason}): {n(e.volume_infused_ml)} mL, "
        f"{n(e.dose_delivered_mg)} mg delivered"
    )


_DESCRIBE: dict[type[ev.Event], Callable[[Any], str]] = {
    ev.SessionCheckedIn: _checked_in,
    ev.AssessmentRecorded: _assessed,
    ev.PremedicationGiven: _premed,
    ev.InfusionStarted: _started,
    ev.RateChanged: _rate_changed,
    ev.InfusionPaused: lambda e: "Infusion paused" + (f" ({e.reason})" if e.reason else ""),
    ev.InfusionResumed: lambda e: (
        f"Infusion resumed at {_rate(e.rate_ml_per_h)}"
        + (f" (decision: {e.decision_note})" if e.decision_note else "")
        + (f" (override: {e.override_reason})" if e.override_reason else "")
        + _verbal(e.verbal_order_by)
    ),
    ev.VitalsRecorded: _vitals,
    ev.ReactionRecorded: _reaction,
    ev.RescueMedicationGiven: lambda e: f"Rescue medication {e.drug} {e.dose} {e.route}",
    ev.ReactionResolved: lambda e: (
        "Reaction resolved"
        + (f": {e.note}" if e.note else "")
        + (f" (override: {e.override_reason})" if e.override_reason else "")
        + _verbal(e.verbal_order_by)
    ),
    ev.VerbalOrderCosigned: lambda e: f"Verbal order #{e.entry_sequence} co-signed by {e.user}",
    ev.InfusionCompleted: lambda e: (
        f"Infusion completed: {n(e.volume_infused_ml)} mL, {n(e.dose_delivered_mg)} mg delivered"
    ),
    ev.InfusionStopped: _stopped,
    ev.LineEventRecorded: lambda e: f"Line event {e.kind}" + (f": {e.note}" if e.note else ""),
    ev.PatientDischarged: lambda e: "Discharged" + (f": {e.note}" if e.note else ""),
    ev.PumpEventRecorded: lambda e: (
        f"Pump {e.pump_id}: {e.kind}"
        + (f" {n(e.rate_ml_per_h)} mL/h" if e.rate_ml_per_h is not None else "")
        + (f" ({e.alarm})" if e.alarm else "")
        + (
            f", pump {n(e.pump_volume_ml)} mL / record {n(e.engine_volume_ml)} mL"
            if e.pump_volume_ml is not None
            else ""
        )
        + (f" [contradicts {e.contradiction}]" if e.contradiction else "")
    ),
    ev.AlertRaised: lambda e: f"ALERT {e.alert_id} ({e.priority}, {e.rule}): {e.message}",
    ev.AlertAcknowledged: lambda e: (
        f"Alert {e.alert_id} acknowledged" + (f": {e.note}" if e.note else "")
    ),
    ev.AlertConditionCleared: lambda e: f"Alert {e.alert_id}: condition cleared",
    ev.EntryCorrected: lambda e: (
        f"Correction of entry #{e.corrects_sequence}: {e.reason}"
        + (f" -> {e.correction}" if e.correction else "")
    ),
}


def describe(event: ev.Event) -> str:
    """One clinician-readable sentence for ``event``."""
    return _DESCRIBE[type(event)](event)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEntry:
    """One recorded event as a clinician reads it: its number in the stream, time, user, the
    event's stable type name and a sentence."""

    sequence: int
    at: datetime
    user: str
    kind: str
    text: str
    recorded_at: datetime | None = None
    late: bool = False
    """Charted past the centre's late threshold: shown with both times."""

    def to_line(self, display_tz: tzinfo = UTC) -> str:
        """``#sequence HH:MM:SS (user) text``, the clock time in ``display_tz``; a late entry
        adds when it was charted.

        >>> from datetime import datetime, UTC
        >>> entry = TimelineEntry(sequence=3, at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        ...                       user="nurse-a", kind="InfusionPaused", text="Infusion paused")
        >>> entry.to_line()
        '#3 09:30:00 (nurse-a) Infusion paused'
        >>> from dataclasses import replace
        >>> late = replace(entry, recorded_at=datetime(2026, 3, 2, 10, 5, tzinfo=UTC), late=True)
        >>> late.to_line()
        '#3 09:30:00 (nurse-a) Infusion paused [charted late at 10:05:00]'
        """
        clock = self.at.astimezone(display_tz).strftime("%H:%M:%S")
        line = f"#{self.sequence} {clock} ({self.user}) {self.text}"
        if self.late and self.recorded_at is not None:
            charted = self.recorded_at.astimezone(display_tz).strftime("%H:%M:%S")
            line += f" [charted late at {charted}]"
        return line


def list_timeline_entries(
    events: Sequence[ev.Event],
    *,
    sequences: Sequence[int] | None = None,
    late_after: timedelta | None = None,
) -> tuple[TimelineEntry, ...]:
    """One entry per event, in the order given (clinical order), numbered by ``sequences``
    (their stream numbers; default 1, 2, ...); late when charted more than ``late_after``
    after it happened."""
    numbers = sequences if sequences is not None else range(1, len(events) + 1)
    return tuple(
        TimelineEntry(
            sequence=number,
            at=event.at,
            user=event.user,
            kind=event.TYPE,
            text=describe(event),
            recorded_at=event.recorded_at,
            late=late_after is not None
            and event.recorded_at is not None
            and event.recorded_at - event.at > late_after,
        )
        for number, event in zip(numbers, events, strict=True)
    )


def list_timeline(events: Sequence[ev.Event], display_tz: tzinfo = UTC) -> tuple[str, ...]:
    """``#sequence HH:MM:SS (user) description`` for every event, in stream order, with clock
    times in ``display_tz`` (the centre's timezone)."""
    return tuple(entry.to_line(display_tz) for entry in list_timeline_entries(events))

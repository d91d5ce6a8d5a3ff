"""Next due actions and warnings: what the engine prompts the nurse to do, and when.

Prompts, not rules: nothing here refuses a command. Rate steps are computed in running time
(pauses excluded) and shown in clock time assuming the infusion keeps running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from msinfusion.catalog.model import Protocol
from msinfusion.session.rules import (
    allowed_rate_at,
    format_number,
    ladder_step_starts,
    required_premedications,
    window_bounds,
)
from msinfusion.session.state import SessionState, Status, as_timedelta

VITALS_INTERVAL_MIN = Fraction(30)
"""Prompt for vital signs every 30 min during infusion and observation. A local-policy default,
not a label number; alerting rules belong to the monitoring issue."""

STEP_OVERDUE_GRACE_MIN = Fraction(5)
"""A due rate step not taken 5 running minutes after it became allowed raises a warning."""

WINDOW_CLOSING_WARNING_MIN = Fraction(10)
"""Warn when the premedication start window closes within 10 minutes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DueAction:
    """``action`` is a stable kebab-case name; ``at`` is None when it depends on a resume."""

    action: str
    at: datetime | None
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RateStep:
    """A higher rate allowed from running minute ``running_min`` (``since`` when already due)."""

    running_min: Fraction
    rate_ml_per_h: Fraction


def next_rate_step(state: SessionState, protocol: Protocol) -> RateStep | None:
    """The next rate increase the protocol allows above the current rate, in running time."""
    current = state.last_rate_ml_per_h
    now = state.running_min
    breakpoints = set(ladder_step_starts(protocol))
    if state.reaction_limit is not None:
        breakpoints.add(state.reaction_limit.next_increase_running_min)
    if allowed_rate_at(state, protocol, now) > current:
        since = now
        for point in sorted((b for b in breakpoints if b <= now), reverse=True):
            if allowed_rate_at(state, protocol, point) <= current:
                break
            since = point
        return RateStep(running_min=since, rate_ml_per_h=allowed_rate_at(state, protocol, now))
    for point in sorted(b for b in breakpoints if b > now):
        allowed = allowed_rate_at(state, protocol, point)
        if allowed > current:
            return RateStep(running_min=point, rate_ml_per_h=allowed)
    return None


def _clock(state: SessionState, at: datetime, running_min: Fraction) -> datetime | None:
    if state.status is not Status.INFUSING:
        return None
    return at + as_timedelta(running_min - state.running_min)


def _checked_in_due(state: SessionState, protocol: Protocol, at: datetime) -> list[DueAction]:
    due: list[DueAction] = []
    if not state.assessments:
        due.append(DueAction(action="record-assessment", at=at, detail="pre-infusion assessment"))
    given = {g.satisfies for g in state.premedications}
    for premedication in required_premedications(protocol, state.course_day):
        if premedication.drug not in given:
            due.append(DueAction(action="give-premedication", at=at, detail=premedication.drug))
    if state.resolution_required:
        due.append(DueAction(action="resolve-reaction", at=at, detail="record resolution first"))
    window = start_window(state, protocol)
    if window is not None:
        earliest, latest = window
        until = "" if latest is None else f" until {latest.isoformat()}"
        due.append(
            DueAction(action="start-infusion", at=max(earliest, at), detail=f"window{until}")
        )
    return due


def start_window(
    state: SessionState, protocol: Protocol
) -> tuple[datetime, datetime | None] | None:
    """(earliest, latest) start inside every required premedication window; None until all given."""
    earliest = state.last_at
    latest: datetime | None = None
    if earliest is None:
        return None
    for premedication in required_premedications(protocol, state.course_day):
        times = [g.at for g in state.premedications if g.satisfies == premedication.drug]
        if not times:
            return None
        least, most = window_bounds(premedication)
        earliest = max(earliest, times[-1] + as_timedelta(least))
        if most is not None:
            closes = times[-1] + as_timedelta(most)
            latest = closes if latest is None else min(latest, closes)
    return earliest, latest


def _infusing_due(
    state: SessionState, protocol: Protocol, at: datetime, end: datetime | None
) -> list[DueAction]:
    due: list[DueAction] = []
    step = next_rate_step(state, protocol)
    if step is not None and not state.is_bag_empty:
        when = _clock(state, at, step.running_min)
        due.append(
            DueAction(
                action="change-rate",
                at=when,
                detail=f"up to {format_number(step.rate_ml_per_h)} mL/h",
            )
        )
    limit = state.reaction_limit
    if limit is not None and limit.next_increase_running_min > state.running_min:
        when = _clock(state, at, limit.next_increase_running_min)
        name = "end-of-reaction-hold" if limit.escalations == 0 else "next-re-escalation"
        due.append(
            DueAction(
                action=name,
                at=when,
                detail=f"now at most {format_number(limit.ceiling_ml_per_h)} mL/h",
            )
        )
    if state.reaction_open:
        detail = (
            "required before resuming" if state.resolution_required else "when symptoms have gone"
        )
        due.append(DueAction(action="resolve-reaction", at=at, detail=detail))
    if state.status is Status.PAUSED:
        action = "resume-infusion" if state.resume_allowed else "stop-infusion"
        due.append(DueAction(action=action, at=at, detail="the infusion is paused"))
    if end is not None:
        due.append(
            DueAction(action="complete-infusion", at=end, detail="bag empty at the current rate")
        )
    return due


def list_due_actions(
    state: SessionState, protocol: Protocol, at: datetime, end: datetime | None
) -> tuple[DueAction, ...]:
    """Next actions with their times, soonest first (None-timed actions last)."""
    due: list[DueAction] = []
    if state.status is Status.CHECKED_IN:
        due = _checked_in_due(state, protocol, at)
    elif state.status in (Status.INFUSING, Status.PAUSED):
        due = _infusing_due(state, protocol, at, end)
    elif state.status is Status.OBSERVATION:
        due = [DueAction(action="discharge", at=state.observation_end, detail="end of observation")]
        if state.reaction_open:
            due.append(
                DueAction(action="resolve-reaction", at=at, detail="when symptoms have gone")
            )
    if state.status in (Status.INFUSING, Status.PAUSED, Status.OBSERVATION):
        since = state.last_vitals_at or state.infusion_started_at or at
        due.append(
            DueAction(
                action="record-vitals", at=since + as_timedelta(VITALS_INTERVAL_MIN), detail=""
            )
        )
    far = datetime.max.replace(tzinfo=at.tzinfo)
    return tuple(sorted(due, key=lambda d: far if d.at is None else d.at))


def list_warnings(
    state: SessionState, protocol: Protocol, at: datetime, end: datetime | None
) -> tuple[str, ...]:
    """Conditions the nurse should know about now."""
    warnings: list[str] = []
    if state.therapy_contraindicated:
        warnings.append(
            "therapy contraindicated after a life-threatening reaction: never give it again"
        )
    for failed in (a for a in state.latest_assessments() if not a.passed):
        warnings.append(
            f"assessment {failed.check} failed: {failed.findings or 'no findings given'}"
        )
    if state.status is Status.CHECKED_IN:
        warnings.extend(_window_warnings(state, protocol, at))
    if state.status is Status.INFUSING:
        step = next_rate_step(state, protocol)
        overdue = None if step is None else state.running_min - step.running_min
        if overdue is not None and overdue >= STEP_OVERDUE_GRACE_MIN and not state.is_bag_empty:
            warnings.append(
                f"rate step overdue by {format_number(overdue)} min of running infusion"
            )
        if state.is_bag_empty:
            warnings.append(
                f"bag empty since {end.isoformat() if end else '?'}: record CompleteInfusion"
            )
    if state.outcome == "stopped" and state.volume_ml < state.bag_volume_ml:
        warnings.append(
            f"dose not fully delivered: {format_number(state.dose_delivered_mg)} of "
            f"{format_number(state.dose_mg)} mg ({format_number(state.volume_ml)} of "
            f"{format_number(state.bag_volume_ml)} mL)"
        )
    return tuple(warnings)


def _window_warnings(state: SessionState, protocol: Protocol, at: datetime) -> list[str]:
    window = start_window(state, protocol)
    if window is None:
        return []
    earliest, latest = window
    if latest is None:
        return []
    if latest < earliest:
        return ["premedication windows do not overlap: starting needs an override reason"]
    if at > latest:
        return [
            f"premedication window closed at {latest.isoformat()}: "
            "starting needs an override reason"
        ]
    if latest - at <= as_timedelta(WINDOW_CLOSING_WARNING_MIN):
        return [f"premedication window closes at {latest.isoformat()}"]
    return []

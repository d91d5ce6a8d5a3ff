"""What the session looks like at any time ``t``: ``state_at`` and the nurse-facing ``view_at``.

``state_at`` folds the events that happened at or before ``t`` and extends the volume integral to
``t`` (O(n), never quadratic). ``view_at`` adds what the protocol says is due next, warnings, the
projected end if nothing else changes (the bag empties at the current rate), and the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Any

from msinfusion.catalog.model import Protocol
from msinfusion.session.alerting import alert_to_json, list_alerts_at
from msinfusion.session.charting import LATE_AFTER
from msinfusion.session.due import DueAction, list_due_actions, list_warnings, next_rate_step
from msinfusion.session.events import Event, RateChanged
from msinfusion.session.evolve import evolve, replay
from msinfusion.session.segments import RateSegment, list_actual_segments
from msinfusion.session.state import (
    RecordedAlert,
    SessionState,
    Status,
    advance,
    as_timedelta,
    minutes_to_empty,
)
from msinfusion.session.timeline import TimelineEntry, list_timeline_entries
from msinfusion.session.verbal_orders import PendingVerbalOrder, pending_verbal_orders


def _events_until(events: Sequence[Event], at: datetime) -> list[Event]:
    prefix: list[Event] = []
    for event in events:
        if event.at > at:
            break
        prefix.append(event)
    return prefix


def state_at(events: Sequence[Event], at: datetime | None = None) -> SessionState:
    """The state at ``at`` (default: the last event's time), volume integrated up to ``at``."""
    if at is None:
        return replay(events)
    return advance(replay(_events_until(events, at)), at)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionView:
    """The answers a nurse needs at ``at``; exact Fractions, rounded only in ``to_json_dict``."""

    at: datetime | None
    state: SessionState
    projected_infusion_end: datetime | None
    projected_chair_release: datetime | None
    due: tuple[DueAction, ...]
    warnings: tuple[str, ...]
    events: int
    timeline: tuple[str, ...]
    display_tz: tzinfo = UTC
    """Where times are shown (the centre's timezone); stored and compared times are UTC."""
    alerts: tuple[RecordedAlert, ...] = ()
    """Open alerts at ``at`` (escalated at read time, ``session.alerting``), highest first."""
    entries: tuple[TimelineEntry, ...] = ()
    """The typed timeline (``timeline`` is its text form)."""
    segments: tuple[RateSegment, ...] = ()
    """The actual rate intervals up to ``at``."""
    pending_verbal_orders: tuple[PendingVerbalOrder, ...] = ()
    """Verbal orders a nurse recorded that their physician has not co-signed yet."""

    @property
    def status(self) -> str:
        return self.state.status.value

    def to_json_dict(self) -> dict[str, Any]:
        """The public JSON view (documented in docs/session-format.md)."""
        s = self.state
        limit = s.reaction_limit
        tz = self.display_tz

        def _iso(value: datetime | None) -> str | None:
            return None if value is None else value.astimezone(tz).isoformat()

        return {
            "at": _iso(self.at),
            "status": self.status,
            "protocol_id": s.protocol_id or None,
            "protocol_version": s.protocol_version or None,
            "dose_number": s.dose_number or None,
            "rate_ml_per_h": _num(s.rate_ml_per_h),
            "volume_infused_ml": _num(s.volume_ml),
            "dose_delivered_mg": _num(s.dose_delivered_mg),
            "remaining_volume_ml": _num(s.remaining_volume_ml),
            "bag_volume_ml": _num(s.bag_volume_ml),
            "dose_mg": _num(s.dose_mg),
            "running_min": _num(s.running_min),
            "infusion_started_at": _iso(s.infusion_started_at),
            "infusion_ended_at": _iso(s.infusion_ended_at),
            "outcome": s.outcome,
            "projected_infusion_end": _iso(self.projected_infusion_end),
            "projected_infusion_end_at_current_rate": _iso(projected_end_at_current_rate(s)),
            "projected_chair_release": _iso(self.projected_chair_release),
            "reaction_rate_cap_ml_per_h": None if limit is None else _num(limit.ceiling_ml_per_h),
            "worst_reaction": s.worst_reaction,
            "therapy_contraindicated": s.therapy_contraindicated,
            "due": [{"action": d.action, "at": _iso(d.at), "detail": d.detail} for d in self.due],
            "warnings": list(self.warnings),
            "alerts": [alert_to_json(a, display_tz=tz) for a in self.alerts],
            "alerts_open": len(self.alerts),
            "events": self.events,
            "pending_verbal_orders": [p.to_json_dict() for p in self.pending_verbal_orders],
            "timeline": list(self.timeline),
            "exact": {
                "volume_infused_ml": str(s.volume_ml),
                "dose_delivered_mg": str(s.dose_delivered_mg),
                "rate_ml_per_h": str(s.rate_ml_per_h),
            },
        }


def view_at(
    events: Sequence[Event],
    protocol: Protocol | None,
    at: datetime | None = None,
    *,
    display_tz: tzinfo = UTC,
    sequences: Sequence[int] | None = None,
    late_after: timedelta | None = LATE_AFTER,
) -> SessionView:
    """Everything the nurse sees at ``at`` (default: the last event's time), shown in
    ``display_tz``. ``events`` are in clinical order (``Chart.events``), ``sequences`` their
    stream numbers (default 1, 2, ...); ``late_after`` marks entries charted late."""
    prefix = list(events) if at is None else _events_until(events, at)
    numbers = None if sequences is None else list(sequences)[: len(prefix)]
    entries = list_timeline_entries(prefix, sequences=numbers, late_after=late_after)
    folded = replay(prefix)
    when = at if at is not None else folded.last_at
    state = folded if when is None else advance(folded, when)
    end = projected_end(folded, protocol)
    due, warnings, alerts = prompts_at(state, protocol, when, end)
    return SessionView(
        at=when,
        state=state,
        projected_infusion_end=end,
        projected_chair_release=chair_release(state, end),
        due=due,
        warnings=warnings,
        events=len(prefix),
        timeline=tuple(entry.to_line(display_tz) for entry in entries),
        display_tz=display_tz,
        alerts=alerts,
        entries=entries,
        segments=() if when is None else list_actual_segments(prefix, until=when),
        pending_verbal_orders=pending_verbal_orders(
            zip(numbers or range(1, len(prefix) + 1), prefix, strict=False)
        ),
    )


def live_view_of_state(
    folded: SessionState,
    protocol: Protocol | None,
    now: datetime,
    end: datetime | None,
    *,
    events: int,
    display_tz: tzinfo = UTC,
) -> SessionView:
    """The live view at ``now`` (or at the last event, when that is later) from a folded state
    alone: what ``view_at(events, protocol, now)`` shows of status, volume advanced to ``now``,
    due actions, warnings, alerts and projected times, without the timeline, entries, rate
    segments or pending verbal orders (those need the events). ``end`` is
    ``projected_end(folded, protocol)``, ``events`` the number of events folded. The board
    renders its rows from this (``application.board``)."""
    last = folded.last_at
    when = last if last is not None and last > now else now
    state = advance(folded, when)
    due, warnings, alerts = prompts_at(state, protocol, when, end)
    return SessionView(
        at=when,
        state=state,
        projected_infusion_end=end,
        projected_chair_release=chair_release(state, end),
        due=due,
        warnings=warnings,
        events=events,
        timeline=(),
        display_tz=display_tz,
        alerts=alerts,
    )


def prompts_at(
    state: SessionState, protocol: Protocol | None, when: datetime | None, end: datetime | None
) -> tuple[tuple[DueAction, ...], tuple[str, ...], tuple[RecordedAlert, ...]]:
    """What a view at ``when`` prompts: the due actions and warnings the protocol gives (none
    without a protocol, or before the check-in) and the open alerts; nothing without a time.
    ``state`` is advanced to ``when``, ``end`` its ``projected_end``. Every view uses this
    (``view_at``, ``live_view_of_state``, the memo's ``session_views.stream_view``)."""
    if when is None:
        return (), (), ()
    due: tuple[DueAction, ...] = ()
    warnings: tuple[str, ...] = ()
    if protocol is not None and state.status is not Status.NEW:
        due = list_due_actions(state, protocol, when, end)
        warnings = list_warnings(state, protocol, when, end)
    return due, warnings, list_alerts_at(state, when)


MAX_PROJECTED_STEPS = 64
"""Bound on the rate steps a projection follows (a ladder has a handful; re-escalations a few)."""


def projected_end(folded: SessionState, protocol: Protocol | None = None) -> datetime | None:
    """When the bag empties if the nurse follows the prompts: every rate step the protocol
    allows is taken when it falls due (``next_rate_step``), from the present state. Without a
    protocol, at the current rate. The recorded end once the infusion ended; None while nothing
    runs (not started, or paused).

    The one projection: the board, the chairside, the API and the scheduler's re-plan use it.
    """
    if folded.infusion_ended_at is not None:
        return folded.infusion_ended_at
    state = folded
    for _ in range(MAX_PROJECTED_STEPS):
        remaining = minutes_to_empty(state)
        if remaining is None or state.last_at is None:
            return None
        step = None if protocol is None else next_rate_step(state, protocol)
        if step is None or step.running_min - state.running_min >= remaining:
            return state.last_at + as_timedelta(remaining)
        at = state.last_at + as_timedelta(max(Fraction(0), step.running_min - state.running_min))
        state = evolve(
            advance(state, at),
            RateChanged(
                at=at,
                user="projection",
                rate_ml_per_h=step.rate_ml_per_h,
                previous_rate_ml_per_h=state.rate_ml_per_h,
                cause="nurse",
                override_reason=None,
            ),
        )
    return (
        None
        if state.last_at is None
        else state.last_at + as_timedelta(minutes_to_empty(state) or Fraction(0))
    )


def projected_end_at_current_rate(folded: SessionState) -> datetime | None:
    """When the bag empties if the current rate is kept (a second figure)."""
    return projected_end(folded, None)


def chair_release(state: SessionState, end: datetime | None) -> datetime | None:
    """When the chair is free: at the discharge, else the projected end plus the observation."""
    if state.discharged_at is not None:
        return state.discharged_at
    if end is None:
        return None
    return end + as_timedelta(state.observation_min)


def _num(value: Fraction) -> float:
    return round(float(value), 3)

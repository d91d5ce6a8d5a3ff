"""Session views from a memo per stream version: a live view costs the same however long the
session is, instead of a replay of the whole stream (ADR 0003).

``session.queries.view_at`` folds every event for every view. What a view needs that depends
only on the stream's version — the events in clinical order and their numbers, the timeline
entries and their lines, the folded state, the projected end, the rate segments and the pending
verbal orders — is computed once per ``Stream`` (one immutable version of a stream) and kept in
its ``ViewMemo``. A later version (a command decided here, or events another writer stored and
``SessionStreams.read_in`` read) is built from its predecessor's memo: when the predecessor's
events are a prefix of its own in clinical order, only the new events are folded and described;
otherwise (a late entry moved others) it is built again from the events. What depends on the
time of the view — the state advanced to now, due actions, warnings, alerts and the running
segment cut at now — is computed per view.

A view at a time before the last event (a historical view) replays as before (``view_at``).
``view_at`` stays the oracle: ``tests/unit/application/test_session_views.py`` checks, over
random sessions stored in random batches, that every memo view equals it.

The memo holds no database state: which version a ``Stream`` is, and that it is the stored one,
is ``SessionStreams.read_in``'s business (it validates its cache against the stored stream in
the reader's transaction).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from msinfusion.catalog.model import Protocol
from msinfusion.session.charting import LATE_AFTER
from msinfusion.session.events import Event, VerbalOrderCosigned
from msinfusion.session.evolve import replay
from msinfusion.session.queries import (
    SessionView,
    chair_release,
    projected_end,
    prompts_at,
    view_at,
)
from msinfusion.session.segments import RateSegment, list_actual_segments
from msinfusion.session.state import SessionState, advance
from msinfusion.session.timeline import TimelineEntry, list_timeline_entries
from msinfusion.session.verbal_orders import (
    PendingVerbalOrder,
    pending_verbal_orders,
    verbal_order_of,
)

if TYPE_CHECKING:
    from msinfusion.application.session_streams import Stream

RUNNING = datetime.max.replace(tzinfo=UTC)
"""The end of a rate segment still running in a memo (cut at the view's time when shown)."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ViewBasis:
    """The parts of a view of one stream version that do not depend on the view's time."""

    events: tuple[Event, ...]
    """In clinical order (``Chart.events``)."""
    sequences: tuple[int, ...]
    latest_at: datetime | None
    """The latest event time: a view at or after it shows every event."""
    entries: tuple[TimelineEntry, ...]
    folded: SessionState
    projected_end: datetime | None
    segments: tuple[RateSegment, ...]
    """Actual rate segments; one still running ends at ``RUNNING``."""
    verbal: tuple[tuple[int, Event], ...]
    """The verbal orders and co-signatures among the events, numbered."""
    pending: tuple[PendingVerbalOrder, ...]
    lines: dict[tzinfo, tuple[str, ...]] = field(default_factory=dict)
    """The timeline's text per display timezone, filled as views ask for it."""

    def lines_in(self, display_tz: tzinfo) -> tuple[str, ...]:
        found = self.lines.get(display_tz)
        if found is None:
            found = tuple(entry.to_line(display_tz) for entry in self.entries)
            self.lines[display_tz] = found
        return found


def _verbal(numbers: Sequence[int], events: Sequence[Event]) -> tuple[tuple[int, Event], ...]:
    return tuple(
        (number, event)
        for number, event in zip(numbers, events, strict=True)
        if isinstance(event, VerbalOrderCosigned) or verbal_order_of(event) is not None
    )


def _latest(start: datetime | None, events: Sequence[Event]) -> datetime | None:
    times = [event.at for event in events]
    if start is not None:
        times.append(start)
    return max(times, default=None)


def build_basis(
    events: tuple[Event, ...],
    sequences: tuple[int, ...],
    protocol: Protocol | None,
    *,
    late_after: timedelta | None,
    seed: ViewBasis | None = None,
    known_end: tuple[SessionState, datetime | None] | None = None,
    folded: SessionState | None = None,
) -> ViewBasis:
    """The basis of ``events``; from ``seed`` (an earlier version's) when its events are a
    prefix of ``events`` with the same numbers, folding only the rest. ``known_end``: a state
    and its ``projected_end``, used when the folded state equals it (not computed twice).
    ``folded``: ``replay(events)`` when the caller holds it (a chart's state is the fold of its
    events in clinical order), so a cold view does not fold every event a second time."""
    known = 0 if seed is None else len(seed.events)
    extends = (
        seed is not None
        and known <= len(events)
        and events[:known] == seed.events
        and sequences[:known] == seed.sequences
    )
    if seed is None or not extends:
        seed, known = None, 0
    tail, numbers = events[known:], sequences[known:]
    entries = list_timeline_entries(tail, sequences=numbers, late_after=late_after)
    if folded is None:
        folded = replay(tail, None if seed is None else seed.folded)
    verbal = (() if seed is None else seed.verbal) + _verbal(numbers, tail)
    basis = ViewBasis(
        events=events,
        sequences=sequences,
        latest_at=_latest(None if seed is None else seed.latest_at, tail),
        entries=entries if seed is None else seed.entries + entries,
        folded=folded,
        projected_end=known_end[1]
        if known_end is not None and known_end[0] == folded
        else projected_end(folded, protocol),
        segments=list_actual_segments(events, until=RUNNING),
        verbal=verbal,
        pending=pending_verbal_orders(verbal),
    )
    if seed is not None:
        for display_tz, lines in seed.lines.items():
            basis.lines[display_tz] = lines + tuple(e.to_line(display_tz) for e in entries)
    return basis


class ViewMemo:
    """The view bases of one stream version, by ``late_after``; seeded from a predecessor's."""

    __slots__ = ("_bases", "_known_end", "_lock", "_previous")

    def __init__(
        self,
        previous: ViewMemo | None = None,
        known_end: tuple[SessionState, datetime | None] | None = None,
    ) -> None:
        self._bases: dict[timedelta | None, ViewBasis] = {}
        self._previous = previous
        self._known_end = known_end
        self._lock = threading.Lock()

    def successor(self, known_end: tuple[SessionState, datetime | None] | None = None) -> ViewMemo:
        """The memo of the next version: seeded from this one (or, if this one built nothing,
        from what it was seeded from), so that at most two versions' bases are held."""
        with self._lock:
            if self._bases:
                self._previous = None
                return ViewMemo(self, known_end)
            return ViewMemo(self._previous, known_end)

    def basis(self, stream: Stream, late_after: timedelta | None) -> ViewBasis:
        with self._lock:
            found = self._bases.get(late_after)
            previous = self._previous
        if found is not None:
            return found
        seed = None if previous is None else previous.known(late_after)
        found = build_basis(
            stream.events,
            stream.chart.sequences(),
            stream.protocol,
            late_after=late_after,
            seed=seed,
            known_end=self._known_end,
            folded=stream.state,
        )
        with self._lock:
            return self._bases.setdefault(late_after, found)

    def known(self, late_after: timedelta | None) -> ViewBasis | None:
        with self._lock:
            return self._bases.get(late_after)


def _segments_until(segments: tuple[RateSegment, ...], when: datetime) -> tuple[RateSegment, ...]:
    """``list_actual_segments(events, until=when)`` from the memo's segments."""
    if not segments or segments[-1].end != RUNNING:
        return segments
    running = segments[-1]
    if when <= running.start:
        return segments[:-1]
    cut = RateSegment(start=running.start, end=when, rate_ml_per_h=running.rate_ml_per_h)
    return (*segments[:-1], cut)


def stream_view(
    stream: Stream,
    at: datetime | None,
    display_tz: tzinfo,
    *,
    late_after: timedelta | None = LATE_AFTER,
) -> SessionView:
    """``view_at(stream.events, stream.protocol, at, ...)``, from the stream's memo unless
    ``at`` is before its latest event."""
    basis = stream.memo.basis(stream, late_after)
    if at is not None and basis.latest_at is not None and at < basis.latest_at:
        return view_at(
            basis.events,
            stream.protocol,
            at,
            display_tz=display_tz,
            sequences=basis.sequences,
            late_after=late_after,
        )
    folded, protocol, end = basis.folded, stream.protocol, basis.projected_end
    when = at if at is not None else folded.last_at
    state = folded if when is None else advance(folded, when)
    due, warnings, alerts = prompts_at(state, protocol, when, end)
    return SessionView(
        at=when,
        state=state,
        projected_infusion_end=end,
        projected_chair_release=chair_release(state, end),
        due=due,
        warnings=warnings,
        events=len(basis.events),
        timeline=basis.lines_in(display_tz),
        display_tz=display_tz,
        alerts=alerts,
        entries=basis.entries,
        segments=() if when is None else _segments_until(basis.segments, when),
        pending_verbal_orders=basis.pending,
    )

"""Rate segments: the infusion as intervals of constant rate, actual and planned.

The chairside chart, the volume check and any export draw from the same intervals: the actual
ones are folded from the recorded events, the planned ones are the plan's ladder steps.

>>> from datetime import datetime, timedelta, UTC
>>> from msinfusion.session import events as ev
>>> t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
>>> started = ev.InfusionStarted(at=t0, user="n", rate_ml_per_h=Fraction(40),
...     override_reason=None, deviations=())
>>> changed = ev.RateChanged(at=t0 + timedelta(minutes=30), user="n",
...     rate_ml_per_h=Fraction(80), previous_rate_ml_per_h=Fraction(40), cause="nurse",
...     override_reason=None)
>>> segments = list_actual_segments([started, changed], until=t0 + timedelta(minutes=45))
>>> [(int(s.rate_ml_per_h), s.duration.seconds, s.volume_ml) for s in segments]
[(40, 1800, Fraction(20, 1)), (80, 900, Fraction(20, 1))]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from msinfusion.planning import InfusionPlan
from msinfusion.session import events as ev

_RATE_SETTERS = (ev.InfusionStarted, ev.RateChanged, ev.InfusionResumed)
_FLOW_STOPPERS = (ev.InfusionPaused, ev.InfusionCompleted, ev.InfusionStopped)


@dataclass(frozen=True, slots=True, kw_only=True)
class RateSegment:
    """``rate_ml_per_h`` from ``start`` to ``end``; ``volume_ml`` is exact."""

    start: datetime
    end: datetime
    rate_ml_per_h: Fraction

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def volume_ml(self) -> Fraction:
        seconds = Fraction(self.duration // timedelta(microseconds=1), 1_000_000)
        return self.rate_ml_per_h * seconds / 3600


def list_actual_segments(events: Iterable[ev.Event], *, until: datetime) -> tuple[RateSegment, ...]:
    """The recorded rate intervals; one still running is cut at ``until`` (if after its start)."""
    segments: list[RateSegment] = []
    rate: Fraction | None = None
    since: datetime | None = None
    for event in events:
        if isinstance(event, _RATE_SETTERS + _FLOW_STOPPERS) and rate is not None:
            assert since is not None
            segments.append(RateSegment(start=since, end=event.at, rate_ml_per_h=rate))
            rate = None
        if isinstance(event, _RATE_SETTERS):
            rate, since = event.rate_ml_per_h, event.at
    if rate is not None and since is not None and until > since:
        segments.append(RateSegment(start=since, end=until, rate_ml_per_h=rate))
    return tuple(segments)


def list_planned_segments(plan: InfusionPlan | None) -> tuple[RateSegment, ...]:
    """The plan's ladder steps as rate intervals (none without a plan)."""
    if plan is None:
        return ()
    return tuple(
        RateSegment(start=s.start, end=s.end, rate_ml_per_h=Fraction(s.rate_ml_per_h))
        for s in plan.steps
    )


def total_volume_ml(segments: Sequence[RateSegment]) -> Fraction:
    return sum((s.volume_ml for s in segments), Fraction(0))

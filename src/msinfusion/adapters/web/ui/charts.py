"""Inline SVG step charts: rate against time (a session's plan and actual) and a protocol ladder.

Pure geometry: the templates draw the polylines and markers computed here. Every chart also has
a table with the same numbers next to it (a chart is never the only way to read a value).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

WIDTH = 900
HEIGHT = 300
LEFT = 56
RIGHT = 16
TOP = 16
BOTTOM = 84
LANE_Y = HEIGHT - 58
LANE_STEP = 20
"""Markers (premedication, vitals, reactions) sit on lanes under the time axis; a marker too
close to the one before it drops to the next lane so none hides another."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Marker:
    x: float
    y: float
    symbol: str
    title: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StepChart:
    width: int
    height: int
    plan_points: str
    actual_points: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    markers: tuple[Marker, ...]
    now_x: float | None
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """A constant rate from ``start`` to ``end``."""

    start: datetime
    end: datetime
    rate_ml_per_h: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    at: datetime
    symbol: str
    title: str
    kind: str


class _Scale:
    def __init__(self, first: datetime, last: datetime, top_rate: float) -> None:
        self.first = first
        self.span = max((last - first).total_seconds(), 60.0)
        self.top_rate = max(top_rate, 1.0)

    def x(self, moment: datetime) -> float:
        share = (moment - self.first).total_seconds() / self.span
        return round(LEFT + share * (WIDTH - LEFT - RIGHT), 1)

    def y(self, rate: float) -> float:
        plot = HEIGHT - BOTTOM - TOP
        return round(HEIGHT - BOTTOM - rate / self.top_rate * plot, 1)


def _points(scale: _Scale, segments: list[Segment]) -> str:
    points: list[str] = []
    for segment in segments:
        y = scale.y(segment.rate_ml_per_h)
        points.append(f"{scale.x(segment.start)},{y}")
        points.append(f"{scale.x(segment.end)},{y}")
    return " ".join(points)


def _time_ticks(scale: _Scale, first: datetime, last: datetime, zone: tzinfo) -> tuple[Tick, ...]:
    span = last - first
    step = timedelta(minutes=30) if span <= timedelta(hours=5) else timedelta(hours=1)
    local = first.astimezone(zone)
    minute = 30 if step == timedelta(minutes=30) else 60
    start = local.replace(minute=(local.minute // minute) * minute % 60, second=0, microsecond=0)
    ticks: list[Tick] = []
    moment = start
    while moment <= last:
        if moment >= first:
            ticks.append(Tick(x=scale.x(moment), label=moment.astimezone(zone).strftime("%H:%M")))
        moment = moment + step
    return tuple(ticks)


def _rate_ticks(scale: _Scale, top_rate: float) -> tuple[Tick, ...]:
    step = 50 if top_rate > 150 else 20 if top_rate > 60 else 10
    return tuple(
        Tick(x=scale.y(rate), label=str(rate)) for rate in range(0, int(top_rate) + 1, step)
    )


def _stack(placed: list[tuple[float, Event]]) -> tuple[Marker, ...]:
    markers: list[Marker] = []
    lane = 0
    for index, (x, event) in enumerate(placed):
        crowded = index > 0 and x - placed[index - 1][0] < LANE_STEP
        lane = (lane + 1) % 3 if crowded else 0
        markers.append(
            Marker(
                x=x,
                y=LANE_Y + lane * LANE_STEP,
                symbol=event.symbol,
                title=event.title,
                kind=event.kind,
            )
        )
    return tuple(markers)


def rate_chart(
    *,
    plan: list[Segment],
    actual: list[Segment],
    events: list[Event],
    now: datetime | None,
    max_rate_ml_per_h: float,
    zone: tzinfo,
) -> StepChart:
    """Plan (dashed) and actual (solid) rate over one time axis, with event markers."""
    moments = [s.start for s in plan + actual] + [s.end for s in plan + actual]
    moments += [e.at for e in events] + ([now] if now is not None else [])
    first = min(moments) - timedelta(minutes=10)
    last = max(moments) + timedelta(minutes=10)
    top = max_rate_ml_per_h * 1.1
    scale = _Scale(first, last, top)
    markers = _stack([(scale.x(e.at), e) for e in events])
    return StepChart(
        width=WIDTH,
        height=HEIGHT,
        plan_points=_points(scale, plan),
        actual_points=_points(scale, actual),
        x_ticks=_time_ticks(scale, first, last, zone),
        y_ticks=_rate_ticks(scale, max_rate_ml_per_h),
        markers=markers,
        now_x=None if now is None else scale.x(now),
    )


def ladder_chart(
    steps: list[tuple[float, float]], *, end_min: float, max_rate_ml_per_h: float
) -> StepChart:
    """A protocol ladder: (start minute, rate) steps drawn to ``end_min`` (the bag empty)."""
    origin = datetime(2000, 1, 1)  # noqa: DTZ001  # a pure minute axis, never shown as a time
    segments = [
        Segment(
            start=origin + timedelta(minutes=start),
            end=origin + timedelta(minutes=steps[i + 1][0] if i + 1 < len(steps) else end_min),
            rate_ml_per_h=rate,
        )
        for i, (start, rate) in enumerate(steps)
    ]
    last = origin + timedelta(minutes=end_min)
    scale = _Scale(origin, last, max_rate_ml_per_h * 1.1)
    every = 30 if end_min <= 300 else 60
    x_ticks = tuple(
        Tick(x=scale.x(origin + timedelta(minutes=m)), label=f"{m} min")
        for m in range(0, int(end_min) + 1, every)
    )
    return StepChart(
        width=WIDTH,
        height=HEIGHT,
        plan_points=_points(scale, segments),
        actual_points="",
        x_ticks=x_ticks,
        y_ticks=_rate_ticks(scale, max_rate_ml_per_h),
        markers=(),
        now_x=None,
    )

"""Dosing input: a piecewise-constant infusion rate in mg/h over absolute time in days.

Two sources build the same value. ``schedule_from_protocol`` runs a catalog ladder (mL/h steps,
volume-terminated) at planned start times and converts mL to mg with the bag's concentration
(dose / bag volume, so the labelled dose is delivered exactly). ``schedule_from_events`` reads the
session engine's record: the exact rates and times of InfusionStarted, RateChanged, InfusionPaused,
InfusionResumed and InfusionCompleted/Stopped, capped at the bag volume as the engine caps it.
A missed or delayed dose is simply a different list of start times. Time 0 is ``origin``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from msinfusion.catalog.ladder import run_ladder
from msinfusion.catalog.model import Protocol
from msinfusion.errors import InvalidDosing
from msinfusion.session import events as ev

SECONDS_PER_DAY = 86_400.0
HOURS_PER_DAY = 24.0
MINUTES_PER_DAY = 1_440


@dataclass(frozen=True, slots=True, kw_only=True)
class RateSegment:
    """From ``start_day`` to ``end_day`` the drug runs at ``rate_mg_per_h``."""

    start_day: float
    end_day: float
    rate_mg_per_h: float

    @property
    def amount_mg(self) -> float:
        return self.rate_mg_per_h * HOURS_PER_DAY * (self.end_day - self.start_day)


@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionSchedule:
    """Non-overlapping rate segments in time order, and the start day of each dose.

    A dosing interval runs from one dose start to the next (the last one to the end of the
    simulation). ``origin`` is the clock time of day 0 (UTC).
    """

    origin: datetime
    segments: tuple[RateSegment, ...]
    dose_starts_day: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.origin.tzinfo is None:
            raise InvalidDosing("origin must be timezone-aware", field="origin")
        previous_end = float("-inf")
        for segment in self.segments:
            if not segment.end_day > segment.start_day:
                raise InvalidDosing(
                    f"segment ends at {segment.end_day} day, not after its start", field="segments"
                )
            if segment.rate_mg_per_h < 0:
                raise InvalidDosing("a rate cannot be negative", field="rate_mg_per_h")
            if segment.start_day < previous_end - 1e-12:
                raise InvalidDosing("segments overlap or are out of order", field="segments")
            previous_end = segment.end_day
        if list(self.dose_starts_day) != sorted(self.dose_starts_day):
            raise InvalidDosing("dose starts are not in time order", field="dose_starts_day")

    @property
    def total_dose_mg(self) -> float:
        return sum(s.amount_mg for s in self.segments)

    def breakpoints_day(self) -> tuple[float, ...]:
        """Every time the rate changes."""
        points = {s.start_day for s in self.segments} | {s.end_day for s in self.segments}
        return tuple(sorted(points))

    def rate_at(self, day: float) -> float:
        """The rate in mg/h on the half-open segment [start, end) containing ``day``."""
        for segment in self.segments:
            if segment.start_day <= day < segment.end_day:
                return segment.rate_mg_per_h
        return 0.0

    def day_of(self, moment: datetime) -> float:
        return (moment.astimezone(UTC) - self.origin.astimezone(UTC)).total_seconds() / (
            SECONDS_PER_DAY
        )


def _merge(
    origin: datetime, parts: Iterable[tuple[tuple[RateSegment, ...], float]]
) -> InfusionSchedule:
    segments: list[RateSegment] = []
    starts: list[float] = []
    for part_segments, start in sorted(parts, key=lambda part: part[1]):
        segments.extend(part_segments)
        starts.append(start)
    segments.sort(key=lambda s: s.start_day)
    return InfusionSchedule(origin=origin, segments=tuple(segments), dose_starts_day=tuple(starts))


def protocol_segments(
    protocol: Protocol, start_day: float, *, bag_volume_ml: Decimal | None = None
) -> tuple[RateSegment, ...]:
    """The protocol's ladder run without interruption from ``start_day``, in mg/h."""
    if protocol.dose.mg is None:
        raise InvalidDosing(
            f"protocol {protocol.id} is dosed per m2; give the mg dose as session records",
            field="protocol",
        )
    volume = Fraction(bag_volume_ml if bag_volume_ml is not None else protocol.bag_volume_ml.value)
    concentration = Fraction(protocol.dose.mg.value) / Fraction(protocol.bag_volume_ml.value)
    result = []
    for piece in run_ladder(protocol.ladder.steps, volume):
        result.append(
            RateSegment(
                start_day=start_day + float(piece.start_min) / MINUTES_PER_DAY,
                end_day=start_day + float(piece.end_min) / MINUTES_PER_DAY,
                rate_mg_per_h=float(piece.rate_ml_per_h * concentration),
            )
        )
    return tuple(result)


def schedule_from_protocol(
    protocols: Sequence[Protocol], starts: Sequence[datetime], *, origin: datetime
) -> InfusionSchedule:
    """Planned infusions: ``protocols[i]`` started at ``starts[i]`` (one protocol repeats)."""
    if len(protocols) not in (1, len(starts)):
        raise InvalidDosing("give one protocol, or one per start time", field="protocols")
    chosen = list(protocols) * len(starts) if len(protocols) == 1 else list(protocols)
    probe = InfusionSchedule(origin=origin, segments=(), dose_starts_day=())
    parts = []
    for protocol, start in zip(chosen, starts, strict=True):
        day = probe.day_of(start)
        parts.append((protocol_segments(protocol, day), day))
    return _merge(origin, parts)


def session_segments(
    events: Sequence[ev.Event], *, origin: datetime
) -> tuple[tuple[RateSegment, ...], float | None]:
    """Rate segments of one recorded infusion session and the day the drug started.

    Volume is integrated exactly (``Fraction``) and capped at the bag volume, as the session
    engine does, so a bag that ran empty before the nurse pressed "complete" delivers no more.
    ``EntryCorrected`` events are recorded only (the engine's state ignores them too).
    """
    probe = InfusionSchedule(origin=origin, segments=(), dose_starts_day=())
    concentration = bag = None
    rate = Fraction(0)
    since: datetime | None = None
    started: float | None = None
    delivered = Fraction(0)
    out: list[RateSegment] = []
    for event in events:
        if isinstance(event, ev.SessionCheckedIn):
            concentration, bag = event.concentration_mg_per_ml, event.bag_volume_ml
            continue
        if not isinstance(event, _RATE_EVENTS):
            continue
        if concentration is None or bag is None:
            raise InvalidDosing("the session has no check-in before the infusion", field="events")
        if since is not None and rate > 0:
            delivered = _append(
                out,
                probe=probe,
                since=since,
                until=event.at,
                rate_ml_per_h=rate,
                concentration=concentration,
                bag_ml=bag,
                delivered_ml=delivered,
            )
        if isinstance(event, ev.InfusionStarted) and started is None:
            started = probe.day_of(event.at)
        rate = _rate_after(event)
        since = event.at
    if since is not None and rate > 0:
        raise InvalidDosing("the infusion has not ended (no complete or stop)", field="events")
    return tuple(out), started


_RATE_EVENTS = (
    ev.InfusionStarted,
    ev.RateChanged,
    ev.InfusionPaused,
    ev.InfusionResumed,
    ev.InfusionCompleted,
    ev.InfusionStopped,
)


def _rate_after(event: ev.Event) -> Fraction:
    if isinstance(event, ev.InfusionStarted | ev.RateChanged | ev.InfusionResumed):
        return event.rate_ml_per_h
    return Fraction(0)


def _append(
    out: list[RateSegment],
    *,
    probe: InfusionSchedule,
    since: datetime,
    until: datetime,
    rate_ml_per_h: Fraction,
    concentration: Fraction,
    bag_ml: Fraction,
    delivered_ml: Fraction,
) -> Fraction:
    """Add the segment [since, until) at the rate, cut where the bag runs empty."""
    elapsed_h = Fraction((until - since) // timedelta(microseconds=1), 3_600_000_000)
    volume = min(rate_ml_per_h * elapsed_h, bag_ml - delivered_ml)
    if volume <= 0:
        return delivered_ml
    hours = volume / rate_ml_per_h
    start = probe.day_of(since)
    out.append(
        RateSegment(
            start_day=start,
            end_day=start + float(hours) / HOURS_PER_DAY,
            rate_mg_per_h=float(rate_ml_per_h * concentration),
        )
    )
    return delivered_ml + volume


def schedule_from_events(
    sessions: Sequence[Sequence[ev.Event]], *, origin: datetime
) -> InfusionSchedule:
    """Actual infusions: one event stream per session, each stream in recorded order."""
    parts = []
    for events in sessions:
        segments, started = session_segments(events, origin=origin)
        if started is not None and segments:
            parts.append((segments, started))
    return _merge(origin, parts)


def combine(schedules: Sequence[InfusionSchedule]) -> InfusionSchedule:
    """One schedule from several with the same origin (planned doses after recorded ones)."""
    if not schedules:
        raise InvalidDosing("no schedules to combine", field="schedules")
    origin = schedules[0].origin
    if any(s.origin != origin for s in schedules):
        raise InvalidDosing("schedules have different origins", field="origin")
    segments = sorted((seg for s in schedules for seg in s.segments), key=lambda s: s.start_day)
    starts = sorted(day for s in schedules for day in s.dose_starts_day)
    return InfusionSchedule(origin=origin, segments=tuple(segments), dose_starts_day=tuple(starts))

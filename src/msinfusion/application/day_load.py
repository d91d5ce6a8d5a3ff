"""Nurse load of a booked day, hour by hour, for the booking page.

The load is the day plan's own measure (``scheduling.check.load_by_minute``): a visit in a
nurse-held task (set-up, premedication, the infusion start) takes a whole nurse, that is
``nurse_ratio`` load units, and an infusing visit is watched (1 unit). What the nurses on duty
give is ``nurses * nurse_ratio`` units. Each visit's span is its protocol's planned chair time
from the booked start, so the page and the day plan cannot disagree about a booked day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from msinfusion.application.schedule_day import StoredDay
from msinfusion.scheduling.assignment import end_of
from msinfusion.scheduling.check import load_by_minute

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class HourLoad:
    """One hour of the day: the visits in a chair during it, and its busiest minute's load."""

    starts_at: datetime
    visits_in_chairs: int
    peak_load_units: int
    capacity_units: int

    @property
    def is_over(self) -> bool:
        return self.peak_load_units > self.capacity_units


def hourly_load(stored: StoredDay, *, nurses: int) -> tuple[HourLoad, ...]:
    """Each hour from opening until the later of closing and the last booked end.

    >>> from datetime import date, time
    >>> from zoneinfo import ZoneInfo
    >>> from msinfusion.application.records import Chair
    >>> from msinfusion.application.schedule_day import DaySettings, build_stored_day
    >>> from msinfusion.catalog.registry import shipped_catalog
    >>> settings = DaySettings(day=date(2026, 3, 2), zone=ZoneInfo("UTC"), nurses=1,
    ...                        opens=time(8), closes=time(10))
    >>> empty = build_stored_day(settings, chairs=[Chair(id="c1", name="Chair 1")],
    ...     appointments=[], patients={}, catalog=shipped_catalog(),
    ...     now=datetime(2026, 3, 1, tzinfo=UTC))
    >>> [(h.starts_at.hour, h.visits_in_chairs, h.capacity_units)
    ...  for h in hourly_load(empty, nurses=1)]
    [(8, 0, 4), (9, 0, 4)]
    """
    problem = stored.problem
    visits = {v.id: v for v in problem.visits}
    placed = [(visits[a.visit_id], a) for a in stored.booked if a.visit_id in visits]
    spans = [(a.start.astimezone(UTC), end_of(v, a.start).astimezone(UTC)) for v, a in placed]
    load = load_by_minute(problem, placed)
    start = problem.opens.astimezone(UTC)
    last = max([problem.closes.astimezone(UTC), *(end for _, end in spans)])
    hours: list[HourLoad] = []
    while start < last:
        end = start + HOUR
        minutes = [start + timedelta(minutes=m) for m in range(60)]
        hours.append(
            HourLoad(
                starts_at=start.astimezone(problem.opens.tzinfo),
                visits_in_chairs=sum(1 for s, e in spans if s < end and start < e),
                peak_load_units=max(load.get(m, 0) for m in minutes),
                capacity_units=nurses * problem.nurse_ratio,
            )
        )
        start = end
    return tuple(hours)

"""Planned regimens from the catalog: which protocol runs when, as an ``InfusionSchedule``.

The dose pattern of each therapy follows its catalog schedule entries (protocol ids, first-due
offsets, repeat intervals); ``interval`` overrides the maintenance interval (e.g. natalizumab every
6 weeks). Months are calendar months (the catalog keeps "6 months" as months, dossier Q2); every
infusion starts at the origin's time of day. Doses are planned up to ``end`` (exclusive).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import datetime, timedelta

from msinfusion.catalog.model import Interval, IntervalUnit, Protocol, Therapy
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import UnknownModel
from msinfusion.pharmacology.dosing import InfusionSchedule, schedule_from_protocol

Planned = list[tuple[str, datetime]]


def add_interval(moment: datetime, interval: Interval, times: int = 1) -> datetime:
    """``moment`` plus ``times`` x ``interval``; months are calendar months (day clipped)."""
    if interval.unit is IntervalUnit.DAY:
        return moment + timedelta(days=interval.value * times)
    if interval.unit is IntervalUnit.WEEK:
        return moment + timedelta(weeks=interval.value * times)
    months = moment.month - 1 + interval.value * times
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _entry_interval(therapy: Therapy, name_start: str) -> Interval:
    for entry in therapy.schedule:
        if entry.name.startswith(name_start):
            interval = entry.repeat_every or entry.first_due_after
            if interval is not None:
                return interval
    raise UnknownModel(f"{therapy.id} has no schedule entry '{name_start}'", field="regimen")


def _repeat(protocol: str, first: datetime, every: Interval, end: datetime) -> Planned:
    planned: Planned = []
    k = 0
    while (at := add_interval(first, every, k)) < end:
        planned.append((protocol, at))
        k += 1
    return planned


def _ocrelizumab(t: Therapy, origin: datetime, end: datetime, every: Interval | None) -> Planned:
    every = every or _entry_interval(t, "Maintenance")
    initial = [("ocrelizumab-300-initial", origin), ("ocrelizumab-300-initial", origin + _D14)]
    first = add_interval(origin, every)
    return initial + _repeat("ocrelizumab-600-standard", first, every, end)


def _ublituximab(t: Therapy, origin: datetime, end: datetime, every: Interval | None) -> Planned:
    every = every or _entry_interval(t, "Maintenance")
    initial = [("ublituximab-150-day1", origin), ("ublituximab-450", origin + _D14)]
    return initial + _repeat("ublituximab-450", add_interval(origin, every), every, end)


def _rituximab(t: Therapy, origin: datetime, end: datetime, every: Interval | None) -> Planned:
    every = every or _entry_interval(t, "OLYMPUS template, course infusion 1")
    planned: Planned = []
    for protocol, at in _repeat("rituximab-1000-first", origin, every, end):
        first_id = protocol if at == origin else "rituximab-1000-subsequent"
        planned += [(first_id, at), ("rituximab-1000-subsequent", at + _D14)]
    return [(p, at) for p, at in planned if at < end]


def _natalizumab(t: Therapy, origin: datetime, end: datetime, every: Interval | None) -> Planned:
    return _repeat("natalizumab-300", origin, every or _entry_interval(t, "Every 4 weeks"), end)


def _alemtuzumab(t: Therapy, origin: datetime, end: datetime, every: Interval | None) -> Planned:
    every = every or _entry_interval(t, "Course 2")
    course2 = add_interval(origin, every)
    days = [origin + timedelta(days=d) for d in range(5)]
    days += [course2 + timedelta(days=d) for d in range(3)]
    return [("alemtuzumab-12", at) for at in days if at < end]


_D14 = timedelta(days=14)
_BUILDERS: dict[str, Callable[[Therapy, datetime, datetime, Interval | None], Planned]] = {
    "ocrelizumab": _ocrelizumab,
    "ublituximab": _ublituximab,
    "rituximab": _rituximab,
    "natalizumab": _natalizumab,
    "alemtuzumab": _alemtuzumab,
}


def standard_regimen(
    therapy_id: str,
    *,
    catalog: Catalog,
    origin: datetime,
    end: datetime,
    interval: Interval | None = None,
) -> InfusionSchedule:
    """The regimen of ``therapy_id`` in ``catalog`` from ``origin`` (day 0) until ``end``."""
    builder = _BUILDERS.get(therapy_id.lower())
    if builder is None:
        raise UnknownModel(f"no regimen for '{therapy_id}'", field="therapy")
    planned = builder(catalog.get_therapy(therapy_id.lower()), origin, end, interval)
    protocols: list[Protocol] = [catalog.get_protocol(pid) for pid, _ in planned]
    return schedule_from_protocol(protocols, [at for _, at in planned], origin=origin)

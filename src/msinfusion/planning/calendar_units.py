"""The one definition of "day", "week" and "month" for every treatment calendar.

Labels mix "6 months" and "24 weeks" (anti-CD20 dossier section 0 and Q2): they are different
lengths and are never converted into each other. Here:

- a **day** is a calendar day; a **week** is exactly 7 calendar days;
- a **month** is a calendar month: the same day-of-month ``n`` months later, clamped to the last
  day of a shorter month (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year).

Calendars are dates, not datetimes: a daylight-saving change never moves a due date. Repeated
intervals are always counted from their anchor (``shift(anchor, interval, times=k)``), never
chained, so clamping does not drift (Aug 31 + 6 months = Feb 28, + 12 months = Aug 31).

>>> from datetime import date
>>> add_months(date(2027, 1, 31), 1), add_months(date(2028, 1, 31), 1)
(datetime.date(2027, 2, 28), datetime.date(2028, 2, 29))
>>> shift(date(2027, 8, 31), Interval(value=6, unit=IntervalUnit.MONTH), times=2)
datetime.date(2028, 8, 31)
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from msinfusion.catalog.model import Interval, IntervalUnit

DAYS_PER_WEEK = 7

__all__ = [
    "DAYS_PER_WEEK",
    "Interval",
    "IntervalUnit",
    "add_days",
    "add_months",
    "add_weeks",
    "days",
    "describe",
    "local_date",
    "months",
    "shift",
    "weeks",
]


def days(value: int) -> Interval:
    return Interval(value=value, unit=IntervalUnit.DAY)


def weeks(value: int) -> Interval:
    return Interval(value=value, unit=IntervalUnit.WEEK)


def months(value: int) -> Interval:
    return Interval(value=value, unit=IntervalUnit.MONTH)


def add_days(day: date, count: int) -> date:
    return day + timedelta(days=count)


def add_weeks(day: date, count: int) -> date:
    return day + timedelta(days=DAYS_PER_WEEK * count)


def add_months(day: date, count: int) -> date:
    """``day`` moved ``count`` calendar months (negative goes back), clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) + count
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def shift(day: date, interval: Interval, *, times: int = 1) -> date:
    """``day`` plus ``times`` x ``interval``, counted from ``day`` (so month ends never drift)."""
    count = interval.value * times
    if interval.unit is IntervalUnit.DAY:
        return add_days(day, count)
    if interval.unit is IntervalUnit.WEEK:
        return add_weeks(day, count)
    return add_months(day, count)


def describe(interval: Interval) -> str:
    """``"6 months"``, ``"24 weeks"``, ``"1 day"``: the unit as the label wrote it."""
    unit = interval.unit.value
    return f"{interval.value} {unit}" + ("" if interval.value == 1 else "s")


def local_date(moment: datetime) -> date:
    """The calendar date of an aware ``moment`` in its own timezone (a clinic's local day)."""
    if moment.tzinfo is None:
        raise ValueError("local_date needs a timezone-aware datetime")
    return moment.date()

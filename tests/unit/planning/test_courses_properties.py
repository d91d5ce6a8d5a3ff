"""Hypothesis invariants of every course calendar."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msinfusion.errors import DoseTooEarly
from msinfusion.planning import course_data as data
from msinfusion.planning.calendar_units import add_months, shift
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseOrder, GivenDose

ORDERS = [
    ("ocrelizumab", {}),
    ("ocrelizumab", {"maintenance_unit": "week"}),
    ("ublituximab", {}),
    ("natalizumab", {}),
    ("natalizumab", {"interval": "6w", "acknowledge_off_label": "yes"}),
    ("alemtuzumab", {"further_courses": "2"}),
    ("mitoxantrone", {"jurisdiction": "EU", "interval_months": "2"}),
    ("mitoxantrone", {"jurisdiction": "US"}),
    ("methylprednisolone", {"days": "5"}),
    ("rituximab", {"regimen": "olympus"}),
]
MIN_INTERVAL = {
    "ocrelizumab": "ocrelizumab.min_interval",
    "ublituximab": "ublituximab.min_interval",
}

starts = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))
orders = st.sampled_from(ORDERS)


@settings(max_examples=150, deadline=None)
@given(
    starts,
    orders,
    st.integers(min_value=0, max_value=6),
    st.lists(st.integers(min_value=0, max_value=40), max_size=8),
)
def test_doses_increase_and_windows_are_ordered(
    start: date, order: tuple[str, dict[str, str]], late_days: int, delays: list[int]
) -> None:
    therapy, options = order
    history: list[GivenDose] = []
    as_of = None
    # give doses one by one, each `delay` days after its due date (never early)
    for delay in delays:
        calendar = plan_course(
            CourseOrder.create(
                therapy_id=therapy, start=start, options=options, given=tuple(history)
            )
        )
        nxt = calendar.next_dose()
        if nxt is None:
            break
        history.append(GivenDose(dose_number=nxt.dose_number, on=nxt.due + timedelta(days=delay)))
        as_of = history[-1].on + timedelta(days=late_days)
    calendar = plan_course(
        CourseOrder.create(therapy_id=therapy, start=start, options=options, given=tuple(history)),
        as_of=as_of,
    )
    effective = [d.given_on or d.due for d in calendar.doses]
    assert all(a < b for a, b in itertools.pairwise(effective))
    assert all(d.earliest <= d.due <= d.latest for d in calendar.doses)
    assert [d.dose_number for d in calendar.doses] == list(range(1, len(calendar.doses) + 1))
    if therapy in MIN_INTERVAL:
        floor = data.interval(MIN_INTERVAL[therapy])
        for before, after in zip(calendar.doses[1:], calendar.doses[2:], strict=False):
            assert after.earliest >= shift(before.given_on or before.due, floor)


@settings(max_examples=100, deadline=None)
@given(starts, st.integers(min_value=1, max_value=120))
def test_a_dose_before_the_minimum_interval_is_always_refused(start: date, early: int) -> None:
    calendar = plan_course(CourseOrder.create(therapy_id="ocrelizumab", start=start))
    third = calendar.doses[2]
    history = (
        GivenDose(dose_number=1, on=calendar.doses[0].due),
        GivenDose(dose_number=2, on=calendar.doses[1].due),
        GivenDose(dose_number=3, on=third.earliest - timedelta(days=early)),
    )
    with pytest.raises(DoseTooEarly) as refused:
        plan_course(CourseOrder.create(therapy_id="ocrelizumab", start=start, given=history))
    assert refused.value.dose_number == 3


@given(st.dates(), st.integers(min_value=-240, max_value=240))
def test_add_months_keeps_the_day_or_clamps_to_the_month_end(day: date, count: int) -> None:
    try:
        moved = add_months(day, count)
    except ValueError:  # outside date's year range
        return
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == count
    assert moved.day == day.day or (moved.day < day.day and (moved + timedelta(days=1)).day == 1)

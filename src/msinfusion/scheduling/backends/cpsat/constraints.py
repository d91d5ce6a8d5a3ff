"""CP-SAT constraints of a centre day (dossier A5 idioms).

* chairs: one cumulative per chair class, capacity = chairs in the class;
* nurses: one cumulative of nurse-load units (task = ``nurse_ratio`` units, monitored patient =
  1) against ``nurse_ratio`` x nurses on shift; shift changes are fixed dummy intervals that
  use the capacity of nurses who are not there (the official load-profile recipe);
* peak: the same load intervals against a capacity *variable*, the peak the objective lowers.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from msinfusion.scheduling.backends.cpsat.variables import DayVars
from msinfusion.scheduling.timeline import nurses_on_shift


def add_chair_capacity(day: DayVars) -> None:
    for c, members in enumerate(day.classes):
        intervals = [v.chair_intervals[c] for v in day.visits if c in v.chair_intervals]
        if intervals:
            day.model.add_cumulative(intervals, [1] * len(intervals), len(members))


def _off_shift_intervals(day: DayVars, peak_units: int) -> list[tuple[cp_model.IntervalVar, int]]:
    """Fixed intervals that fill the capacity of nurses not on shift, run by run."""
    units = [day.problem.nurse_ratio * n for n in nurses_on_shift(day.problem)]
    dummies: list[tuple[cp_model.IntervalVar, int]] = []
    start = 0
    for minute in range(1, len(units) + 1):
        if minute == len(units) or units[minute] != units[start]:
            missing = peak_units - units[start]
            if missing > 0:
                interval = day.model.new_fixed_size_interval_var(
                    start, minute - start, f"off_shift_{start}"
                )
                dummies.append((interval, missing))
            start = minute
    return dummies


def add_nurse_capacity(day: DayVars) -> cp_model.IntVar:
    """Nurse-load capacity over the day; returns the peak-load variable."""
    units = [day.problem.nurse_ratio * n for n in nurses_on_shift(day.problem)]
    most = max(units, default=0)
    load = [pair for v in day.visits for pair in v.load_intervals]
    everything = load + _off_shift_intervals(day, most)
    if everything:
        day.model.add_cumulative(
            [interval for interval, _ in everything], [d for _, d in everything], most
        )
    peak = day.model.new_int_var(0, most, "peak_nurse_load_units")
    if load:
        day.model.add_cumulative([i for i, _ in load], [d for _, d in load], peak)
    return peak


def add_overtime(day: DayVars) -> cp_model.IntVar:
    """Minutes the last chair is released after closing (0 if none)."""
    closes = day.problem.minute(day.problem.closes)
    ends_by = day.problem.minute(day.problem.latest_end)
    for v in day.visits:  # a started visit may now run past the hard end (re-planning)
        if isinstance(v.start, int):
            ends_by = max(ends_by, v.start + v.shape.length)
    overtime = day.model.new_int_var(0, max(0, ends_by - closes), "overtime_min")
    for v in day.visits:
        end = v.start + v.shape.length
        if isinstance(v.booked, int):
            day.model.add(overtime >= end - closes)
        else:
            day.model.add(overtime >= end - closes).only_enforce_if(v.booked)
    return overtime

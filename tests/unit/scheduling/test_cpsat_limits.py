"""CP-SAT keeps its time limit, model building included, and reports a gap per level."""

from __future__ import annotations

import time
from datetime import UTC, date, timedelta

from ortools.sat.python import cp_model

from msinfusion.catalog import shipped_catalog
from msinfusion.scheduling.backends.cpsat import CpSatOptions, solve_cpsat
from msinfusion.scheduling.backends.cpsat.bounds import add_peak_energy
from msinfusion.scheduling.backends.cpsat.objective import build_levels
from msinfusion.scheduling.backends.cpsat.solve import _revisit, _Search
from msinfusion.scheduling.backends.cpsat.solver_values import values_of
from msinfusion.scheduling.backends.cpsat.timeindexed_build import build_time_indexed
from msinfusion.scheduling.backends.cpsat.variables import build_variables
from msinfusion.scheduling.generator import generate_day
from msinfusion.scheduling.problem import DayProblem
from tests.unit.scheduling.helpers import FAST, day, visit

LEVELS = ["visits_booked", "overtime_min", "total_wait_min", "peak_nurse_load"]


def test_the_time_limit_covers_model_building_and_every_level() -> None:
    problem = generate_day(
        chairs=30, seed=4, day=date(2026, 3, 2), zone=UTC, catalog=shipped_catalog()
    )
    started = time.monotonic()
    schedule = solve_cpsat(problem, CpSatOptions(time_limit=timedelta(seconds=1), num_workers=1))
    assert time.monotonic() - started < 1.4
    assert schedule.check() == ()
    assert [name for name, _ in schedule.level_gaps] == LEVELS
    assert all(0.0 <= gap <= 1.0 for _, gap in schedule.level_gaps)
    first_open = next((gap for _, gap in schedule.level_gaps if gap > 0), 0.0)
    assert schedule.bound_gap == first_open


def test_the_peak_energy_bound_is_hand_worked_and_below_the_optimum() -> None:
    # Both 60-min visits must start at 08:00 (no waiting allowed, no overtime). Each puts a
    # 15-min set-up (4 units) and 15 monitored minutes (1 unit) into [08:00, 08:30): 75 units,
    # 150 together over 30 min, so the peak is at least 5 units; the optimum is 8 (both set-ups
    # at once, test_known_optima). Wider windows are weaker: [08:00, 09:00) gives 210 / 60.
    problem = day([visit("a", 60), visit("b", 60)], chairs=2, nurses=2, closes=240, latest_end=240)
    variables = build_variables(problem)
    peak = variables.model.new_int_var(0, 8, "peak")
    assert add_peak_energy(variables, peak, overtime_min=0, total_wait_min=0) == 5
    schedule = solve_cpsat(problem, FAST)
    assert schedule.metrics().peak_nurse_load_units == 8
    assert dict(schedule.level_gaps)["peak_nurse_load"] == 0.0


def _search_after_levels(problem: DayProblem) -> _Search:
    """The search state ``solve_cpsat`` ends its levels with, the optimal schedule in it."""
    variables = build_variables(problem)
    search = _Search(
        day=variables,
        levels=build_levels(variables),
        relaxed=build_time_indexed(variables),
        solver=cp_model.CpSolver(),
    )
    search.values = values_of(variables, solve_cpsat(problem, FAST))
    # one chair, 2 x 300 min back to back from 08:00: closing + 120, b waits 300, one set-up
    search.level_values = {
        "visits_booked": 0,
        "overtime_min": 120,
        "total_wait_min": 300,
        "peak_nurse_load": 4,
    }
    return search


def test_time_left_after_the_last_level_goes_back_to_an_open_overtime_level() -> None:
    # The overtime level ran out of its share with nothing proven (bound 0) while the later
    # levels closed: the revisit proves 120 with the time left (every probe below 120 has no
    # schedule: two 300-min visits in one chair end at the earliest at 18:00 = closing + 120).
    problem = day([visit("a", 300), visit("b", 300)])
    search = _search_after_levels(problem)
    bounds = {"visits_booked": 0, "overtime_min": 0, "total_wait_min": 300, "peak_nurse_load": 4}
    _revisit(search, bounds, time.monotonic() + 5.0)
    assert bounds["overtime_min"] == 120
    assert search.level_values["overtime_min"] == 120  # nothing better exists
    # no time left: the level stays open
    late = {**bounds, "overtime_min": 0}
    _revisit(_search_after_levels(problem), late, time.monotonic() - 1.0)
    assert late["overtime_min"] == 0

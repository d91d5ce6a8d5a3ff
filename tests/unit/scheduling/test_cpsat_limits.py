"""CP-SAT keeps its time limit, model building included, and reports a gap per level."""

from __future__ import annotations

import time
from datetime import UTC, date, timedelta

from msinfusion.catalog import shipped_catalog
from msinfusion.scheduling.backends.cpsat import CpSatOptions, solve_cpsat
from msinfusion.scheduling.generator import generate_day

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

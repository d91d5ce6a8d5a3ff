"""Chair scheduling: CP-SAT against first-come-first-served on generated MS days.

Run with ``make bench`` (about 4 minutes: CP-SAT gets 10 s and 60 s per size), or as a script for
the comparison table: ``.venv/bin/python -m benchmarks.test_bench_scheduling``. Each run records
the schedule's metrics in ``extra_info`` (overtime, waiting, peak nurse load, visits booked,
status, gap to CP-SAT's own proven bound); every schedule must pass ``check()``.
"""

from __future__ import annotations

import os
from datetime import UTC, date, timedelta
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from msinfusion.catalog import shipped_catalog
from msinfusion.scheduling.backends.cpsat import CpSatOptions, solve_cpsat
from msinfusion.scheduling.backends.greedy import solve_greedy
from msinfusion.scheduling.generator import generate_day
from msinfusion.scheduling.schedule import Schedule

CATALOG = shipped_catalog()

DAY = date(2026, 3, 2)
SEED = 1
WORKERS = min(8, os.cpu_count() or 1)


def run(chairs: int, solver: str) -> Schedule:
    problem = generate_day(chairs=chairs, seed=SEED, day=DAY, zone=UTC, catalog=CATALOG)
    if solver == "greedy":
        return solve_greedy(problem)
    seconds = int(solver.removeprefix("cpsat-").removesuffix("s"))
    return solve_cpsat(
        problem, CpSatOptions(time_limit=timedelta(seconds=seconds), num_workers=WORKERS)
    )


def row(chairs: int, solver: str, schedule: Schedule) -> dict[str, Any]:
    m = schedule.metrics()
    return {
        "chairs": chairs,
        "nurses": len(schedule.problem.nurses),
        "visits": m.visits_requested,
        "solver": solver,
        "booked": m.visits_booked,
        "overtime_min": m.overtime_min,
        "total_wait_min": m.total_wait_min,
        "peak_nurse_load": m.peak_nurse_load,
        "status": schedule.status.value,
        "bound_gap": schedule.bound_gap,
        "level_gaps": dict(schedule.level_gaps),
    }


@pytest.mark.parametrize("solver", ["greedy", "cpsat-10s", "cpsat-60s"])
@pytest.mark.parametrize("chairs", [10, 30, 60])
def test_schedule_a_generated_day(benchmark: BenchmarkFixture, chairs: int, solver: str) -> None:
    schedule = benchmark.pedantic(run, args=(chairs, solver), rounds=1, iterations=1)
    mandatory_left = {v.rule for v in schedule.check()} <= {"mandatory-unbooked"}
    assert mandatory_left if solver == "greedy" else schedule.check() == ()
    benchmark.extra_info.update(row(chairs, solver, schedule))


def main() -> None:  # pragma: no cover - a script for the comparison table
    print(
        "| chairs | nurses | visits | solver | booked | overtime min | wait min | "
        "peak nurses | status | bound gap |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for chairs in (10, 30, 60):
        for solver in ("greedy", "cpsat-10s", "cpsat-60s"):
            r = row(chairs, solver, run(chairs, solver))
            print(
                f"| {r['chairs']} | {r['nurses']} | {r['visits']} | {r['solver']} | "
                f"{r['booked']} | {r['overtime_min']} | {r['total_wait_min']} | "
                f"{r['peak_nurse_load']} | {r['status']} | {r['bound_gap']} {r['level_gaps']} |",
                flush=True,
            )


if __name__ == "__main__":  # pragma: no cover
    main()

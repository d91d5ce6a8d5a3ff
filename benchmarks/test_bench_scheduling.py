"""Chair scheduling: CP-SAT against first-come-first-served on generated MS days.

Run with ``make bench`` (CP-SAT gets 10 s and 60 s per size, and ``GAP_SECONDS`` for each of the
15 gap-table days), or as a script for the tables: ``.venv/bin/python -m
benchmarks.test_bench_scheduling [seconds]``. Each run records the schedule's metrics in
``extra_info`` (overtime, waiting, peak nurse load, visits booked, status, the gap to CP-SAT's
own proven bound per objective level); every schedule must pass ``check()``.

With ``--benchmark-disable`` (CI's smoke run) each benchmark runs once, at 10 chairs and 1 s.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from datetime import UTC, date, timedelta
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from msinfusion.catalog import shipped_catalog
from msinfusion.scheduling.backends.cpsat import CpSatOptions, solve_cpsat
from msinfusion.scheduling.backends.greedy import solve_greedy
from msinfusion.scheduling.generator import generate_day
from msinfusion.scheduling.problem import DayProblem
from msinfusion.scheduling.schedule import Schedule

CATALOG = shipped_catalog()

DAY = date(2026, 3, 2)
SEED = 1
WORKERS = min(8, os.cpu_count() or 1)
GAP_SEEDS = (0, 1, 2, 3, 4)
GAP_SECONDS = float(os.environ.get("MSINFUSION_BENCH_GAP_SECONDS", "60"))
SMOKE_SECONDS = 1


def _smoke(benchmark: BenchmarkFixture, chairs: int) -> bool:
    """True in CI's smoke run (``--benchmark-disable``); skips every size but the smallest."""
    if not benchmark.disabled:
        return False
    if chairs != 10:
        pytest.skip("smoke run: 10 chairs only")
    return True


def _cpsat(problem: DayProblem, seconds: float) -> Schedule:
    return solve_cpsat(
        problem, CpSatOptions(time_limit=timedelta(seconds=seconds), num_workers=WORKERS)
    )


def run(chairs: int, solver: str, *, smoke: bool = False) -> Schedule:
    problem = generate_day(chairs=chairs, seed=SEED, day=DAY, zone=UTC, catalog=CATALOG)
    if solver == "greedy":
        return solve_greedy(problem)
    seconds = int(solver.removeprefix("cpsat-").removesuffix("s"))
    return _cpsat(problem, SMOKE_SECONDS if smoke else seconds)


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
    smoke = _smoke(benchmark, chairs)
    if smoke and solver == "cpsat-60s":
        pytest.skip("smoke run: one CP-SAT limit is enough")
    schedule = benchmark.pedantic(
        run, args=(chairs, solver), kwargs={"smoke": smoke}, rounds=1, iterations=1
    )
    mandatory_left = {v.rule for v in schedule.check()} <= {"mandatory-unbooked"}
    assert mandatory_left if solver == "greedy" else schedule.check() == ()
    benchmark.extra_info.update(row(chairs, solver, schedule))


def gap_row(chairs: int, seed: int, seconds: float) -> dict[str, Any]:
    """One row of the gap table: CP-SAT's level gaps and wall time, and waiting against greedy
    at equal booked visits (CP-SAT re-solved on exactly the visits greedy booked)."""
    problem = generate_day(chairs=chairs, seed=seed, day=DAY, zone=UTC, catalog=CATALOG)
    greedy = solve_greedy(problem)
    started = time.monotonic()
    cpsat = _cpsat(problem, seconds)
    wall = time.monotonic() - started
    booked = {a.visit_id for a in greedy.assignments}
    same = replace(problem, visits=tuple(v for v in problem.visits if v.id in booked))
    equal = _cpsat(same, seconds)
    for schedule in (cpsat, equal):
        assert schedule.check() == (), schedule.check()
    g, c, e = greedy.metrics(), cpsat.metrics(), equal.metrics()
    return {
        "chairs": chairs,
        "seed": seed,
        "visits": c.visits_requested,
        "seconds": seconds,
        "wall_s": round(wall, 2),
        "status": cpsat.status.value,
        "level_gaps": dict(cpsat.level_gaps),
        "booked": (g.visits_booked, c.visits_booked),
        "overtime_min": (g.overtime_min, c.overtime_min),
        "wait_min": (g.total_wait_min, c.total_wait_min),
        "equal_booked": e.visits_booked == g.visits_booked,
        "equal_wait_min": (g.total_wait_min, e.total_wait_min),
        "equal_wait_gap": dict(equal.level_gaps).get("total_wait_min"),
    }


@pytest.mark.parametrize("seed", GAP_SEEDS)
@pytest.mark.parametrize("chairs", [10, 30, 60])
def test_gap_table(benchmark: BenchmarkFixture, chairs: int, seed: int) -> None:
    smoke = _smoke(benchmark, chairs)
    if smoke and seed != GAP_SEEDS[0]:
        pytest.skip("smoke run: one seed")
    seconds = SMOKE_SECONDS if smoke else GAP_SECONDS
    result = benchmark.pedantic(gap_row, args=(chairs, seed, seconds), rounds=1, iterations=1)
    assert result["wall_s"] <= seconds + 0.5  # the limit includes model building
    benchmark.extra_info.update(result)


def _gap_cells(r: dict[str, Any]) -> str:
    gaps = r["level_gaps"]
    levels = ("visits_booked", "overtime_min", "total_wait_min", "peak_nurse_load")
    return " | ".join(f"{gaps.get(name, '-')}" for name in levels)


def print_gap_table(seconds: float) -> None:  # pragma: no cover - a script for the docs
    print(
        "| chairs | seed | visits | wall s | status | gap booked | gap overtime | gap wait | "
        "gap peak | booked g/c | overtime g/c | wait g/c | wait at equal booked g/c |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for chairs in (10, 30, 60):
        for seed in GAP_SEEDS:
            r = gap_row(chairs, seed, seconds)
            equal = "{}/{}".format(*r["equal_wait_min"]) + ("" if r["equal_booked"] else " (*)")
            print(
                f"| {chairs} | {seed} | {r['visits']} | {r['wall_s']} | {r['status']} | "
                f"{_gap_cells(r)} | {'{}/{}'.format(*r['booked'])} | "
                f"{'{}/{}'.format(*r['overtime_min'])} | {'{}/{}'.format(*r['wait_min'])} | "
                f"{equal} |",
                flush=True,
            )


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
    if len(sys.argv) > 1:
        print_gap_table(float(sys.argv[1]))
    else:
        main()

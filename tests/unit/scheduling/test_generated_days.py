"""Generated MS days: every solution of both back ends passes ``check()``."""

from __future__ import annotations

import json
from datetime import UTC, date, timedelta

import pytest

from msinfusion.catalog import shipped_catalog
from msinfusion.scheduling import SolveStatus
from msinfusion.scheduling.backends.cpsat import CpSatOptions, solve_cpsat
from msinfusion.scheduling.backends.greedy import solve_greedy
from msinfusion.scheduling.generator import generate_day, nurses_for
from msinfusion.scheduling.instance_file import day_problem_from_json, day_problem_to_json
from msinfusion.scheduling.report import schedule_to_json

CATALOG = shipped_catalog()

DAY = date(2026, 3, 2)
QUICK = CpSatOptions(time_limit=timedelta(seconds=1), num_workers=2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ten_chairs_both_back_ends_pass_check(seed: int) -> None:
    problem = generate_day(chairs=10, seed=seed, day=DAY, zone=UTC, catalog=CATALOG)
    greedy = solve_greedy(problem)
    cpsat = solve_cpsat(problem, QUICK)
    assert [v for v in greedy.check() if v.rule != "mandatory-unbooked"] == []
    assert cpsat.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    assert cpsat.check() == ()
    assert cpsat.metrics().visits_booked >= greedy.metrics().visits_booked


def test_thirty_and_sixty_chairs_greedy_passes_check() -> None:
    for chairs in (30, 60):
        problem = generate_day(chairs=chairs, seed=7, day=DAY, zone=UTC, catalog=CATALOG)
        assert len(problem.nurses) == nurses_for(chairs)
        assert [v for v in solve_greedy(problem).check() if v.rule != "mandatory-unbooked"] == []


def test_generator_is_seeded_and_sized_from_the_dossier() -> None:
    a = generate_day(chairs=10, seed=5, day=DAY, zone=UTC, catalog=CATALOG)
    assert a == generate_day(chairs=10, seed=5, day=DAY, zone=UTC, catalog=CATALOG)
    assert a != generate_day(chairs=10, seed=6, day=DAY, zone=UTC, catalog=CATALOG)
    assert len(a.nurses) == 5  # 10 chairs / 2.1 chairs per RN
    booked = sum((v.chair_time for v in a.visits), timedelta(0))
    opening = 10 * (a.closes - a.opens)
    # visits are drawn until 80% of chair time is reached: the last visit tips it over
    assert booked >= 0.8 * opening > booked - max(v.chair_time for v in a.visits)
    assert len({v.protocol_id for v in a.visits}) >= 4


def test_instance_file_round_trip_and_json_contract() -> None:
    problem = generate_day(chairs=10, seed=1, day=DAY, zone=UTC, catalog=CATALOG)
    text = json.dumps(day_problem_to_json(problem))
    assert day_problem_from_json(json.loads(text), shipped_catalog()) == problem
    view = schedule_to_json(solve_greedy(problem))
    booked = [v for v in view["visits"] if v["booked"]]
    assert {"chair", "start", "end", "nurse_tasks"} <= set(booked[0])
    assert set(view["metrics"]) >= {
        "overtime_min",
        "total_wait_min",
        "peak_nurse_load",
        "visits_booked",
        "status",
        "bound_gap",
    }

"""Re-planning during the day never moves a started visit and never plans in the past."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from functools import partial

import pytest

from msinfusion.catalog import shipped_catalog
from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.scheduling.backends.cpsat import solve_cpsat
from msinfusion.scheduling.backends.greedy import solve_greedy
from msinfusion.scheduling.generator import generate_day
from msinfusion.scheduling.reoptimise import replan_day
from tests.unit.scheduling.helpers import FAST, at, day, visit

CATALOG = shipped_catalog()


def test_a_late_release_pushes_the_next_patient_in_that_chair() -> None:
    # One chair: a 08:00-09:00, b 09:00-10:00. At 08:30 a's chair is projected free only at 09:30,
    # so b (not started) moves to 09:30; a stays exactly where it was.
    problem = day([visit("a", 60), visit("b", 60)], closes=240, latest_end=240)
    before = solve_cpsat(problem, FAST)
    assert before.assignment("b").start == at(60)  # type: ignore[union-attr]
    after = replan_day(
        before, now=at(30), releases={"a": at(90)}, solve=partial(solve_cpsat, options=FAST)
    )
    assert after.check() == ()
    assert after.assignment("a") == before.assignment("a")
    assert after.assignment("b").start == at(90)  # type: ignore[union-attr]
    assert after.problem.visit("a").chair_time == timedelta(minutes=90)


@pytest.mark.parametrize("solver", ["greedy", "cpsat"])
def test_generated_day_replanned_at_eleven(solver: str) -> None:
    problem = generate_day(chairs=10, seed=4, day=date(2026, 3, 2), zone=UTC, catalog=CATALOG)
    solve = solve_greedy if solver == "greedy" else partial(solve_cpsat, options=FAST)
    first = solve(problem)
    now = problem.opens + timedelta(hours=2, minutes=30)
    started = [a for a in first.assignments if a.start <= now]
    assert started
    late = {started[0].visit_id: now + timedelta(hours=3)}
    again = replan_day(first, now=now, releases=late, solve=solve)
    for placed in started:
        assert again.assignment(placed.visit_id) == placed
    assert [v for v in again.check() if v.rule != "mandatory-unbooked"] == []
    for placed in again.assignments:
        assert placed in started or placed.start >= now


def test_a_release_for_a_visit_not_started_is_refused() -> None:
    problem = day([visit("a", 60), visit("b", 60)], closes=240, latest_end=240)
    schedule = solve_greedy(problem)
    with pytest.raises(InvalidSchedulingProblem) as caught:
        replan_day(schedule, now=at(10), releases={"b": at(200)}, solve=solve_greedy)
    assert caught.value.field == "releases"

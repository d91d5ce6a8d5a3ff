"""Multi-week plans keep day-1/day-15 and consecutive-day links, windows and open days."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, time, timedelta
from functools import partial

from msinfusion.catalog import shipped_catalog
from msinfusion.scheduling.backends.cpsat import CpSatOptions, solve_cpsat
from msinfusion.scheduling.backends.cpsat.weeks import assign_days_cpsat
from msinfusion.scheduling.backends.greedy import solve_greedy
from msinfusion.scheduling.problem import DayProblem
from msinfusion.scheduling.schedule import Schedule, SolveStatus
from msinfusion.scheduling.weeks import DayLink, VisitRequest, WeeksProblem, plan_weeks
from msinfusion.scheduling.weeks_assign import assign_days_greedy, link_groups
from msinfusion.scheduling.weeks_check import check_weeks, weeks_metrics
from msinfusion.scheduling.weeks_generator import generate_weeks, template_for

CATALOG = shipped_catalog()

MONDAY = date(2026, 3, 2)
QUICK = CpSatOptions(time_limit=timedelta(seconds=1), num_workers=2)


def _request(
    rid: str, protocol: str, dose: int, due: date, window: int = 0, course_day: int | None = None
) -> VisitRequest:
    return VisitRequest(
        id=rid,
        patient_id="p",
        protocol_id=protocol,
        dose_number=dose,
        earliest_day=due - timedelta(days=window),
        due_day=due,
        latest_day=due + timedelta(days=window),
        arrival=time(8, 30),
        start_by=time(9, 30),
        course_day=course_day,
    )


def test_alemtuzumab_five_days_must_start_on_monday() -> None:
    # Day 1 may be any day of the week, but five consecutive open days exist only Mon-Fri.
    days = [
        _request("d1", "alemtuzumab-12", 1, MONDAY + timedelta(days=2), window=2, course_day=1),
        *(
            _request(
                f"d{k}", "alemtuzumab-12", k, MONDAY + timedelta(days=k - 1), window=6, course_day=k
            )
            for k in range(2, 6)
        ),
    ]
    links = tuple(
        DayLink(first=f"d{k}", second=f"d{k + 1}", min_days=1, max_days=1) for k in range(1, 5)
    )
    problem = WeeksProblem(
        first_day=MONDAY,
        last_day=MONDAY + timedelta(days=13),
        template=template_for(4, UTC),
        requests=tuple(days),
        catalog=CATALOG,
        links=links,
    )
    for assign in (assign_days_greedy, partial(assign_days_cpsat, options=QUICK)):
        chosen = assign(problem)
        assert [chosen[f"d{k}"] for k in range(1, 6)] == [
            MONDAY + timedelta(days=k) for k in range(5)
        ]
    plan = plan_weeks(problem, assign=assign_days_greedy, solve_day=solve_greedy)
    assert plan.check() == ()
    assert weeks_metrics(plan).links_kept == 4


def test_day_fifteen_is_exactly_fourteen_days_later() -> None:
    first = _request("o1", "ocrelizumab-300-initial", 1, MONDAY + timedelta(days=1), window=3)
    second = _request("o2", "ocrelizumab-300-initial", 2, MONDAY + timedelta(days=15), window=3)
    problem = WeeksProblem(
        first_day=MONDAY,
        last_day=MONDAY + timedelta(days=20),
        template=template_for(2, UTC),
        requests=(second, first),
        catalog=CATALOG,
        links=(DayLink(first="o1", second="o2", min_days=14, max_days=14),),
    )
    assert [r.id for r in link_groups(problem)[0]] == ["o1", "o2"]
    chosen = assign_days_greedy(problem)
    assert chosen["o2"] - chosen["o1"] == timedelta(days=14)
    plan = plan_weeks(
        problem,
        assign=partial(assign_days_cpsat, options=QUICK),
        solve_day=partial(solve_cpsat, options=QUICK),
    )
    assert check_weeks(plan) == ()


def test_generated_weeks_pass_check_with_greedy_days() -> None:
    problem = generate_weeks(
        chairs=10, seed=2, first_day=MONDAY, weeks=2, zone=UTC, catalog=CATALOG
    )
    assert problem.links
    plan = plan_weeks(problem, assign=assign_days_greedy, solve_day=solve_greedy)
    assert plan.check() == ()
    assert plan.status is SolveStatus.FEASIBLE
    booked = plan.booked_days()
    for link in problem.links:
        if link.first in booked and link.second in booked:
            assert (booked[link.second] - booked[link.first]).days == link.min_days


def _greedy_without(visit_id: str) -> Callable[[DayProblem], Schedule]:
    """A day back end that cannot fit ``visit_id`` (a fake: greedy with that booking removed)."""

    def solve(problem: DayProblem) -> Schedule:
        day = solve_greedy(problem)
        kept = tuple(a for a in day.assignments if a.visit_id != visit_id)
        return replace(day, assignments=kept)

    return solve


def test_a_course_half_booked_by_a_day_is_unbooked_whole_and_the_plan_stays_feasible() -> None:
    first = _request("o1", "ocrelizumab-300-initial", 1, MONDAY + timedelta(days=1))
    second = _request("o2", "ocrelizumab-300-initial", 2, MONDAY + timedelta(days=15))
    single = _request("n1", "natalizumab-300", 20, MONDAY + timedelta(days=1))
    problem = WeeksProblem(
        first_day=MONDAY,
        last_day=MONDAY + timedelta(days=20),
        template=template_for(2, UTC),
        requests=(first, second, single),
        catalog=CATALOG,
        links=(DayLink(first="o1", second="o2", min_days=14, max_days=14),),
    )
    plan = plan_weeks(problem, assign=assign_days_greedy, solve_day=_greedy_without("o2"))
    assert plan.check() == ()
    assert plan.status is SolveStatus.FEASIBLE
    assert set(plan.booked_days()) == {"n1"}
    assert any("linked visits unbooked" in day.message for day in plan.days)


def test_a_plan_with_violations_is_never_feasible() -> None:
    mandatory = replace(
        _request("n1", "natalizumab-300", 20, MONDAY + timedelta(days=1)), mandatory=True
    )
    problem = WeeksProblem(
        first_day=MONDAY,
        last_day=MONDAY + timedelta(days=6),
        template=template_for(2, UTC),
        requests=(mandatory,),
        catalog=CATALOG,
    )
    plan = plan_weeks(problem, assign=assign_days_greedy, solve_day=_greedy_without("n1"))
    assert {v.rule for v in plan.check()} == {"mandatory-unbooked"}
    assert plan.status is SolveStatus.UNKNOWN
    assert "mandatory-unbooked" in plan.message

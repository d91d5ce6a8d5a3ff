"""Small days whose optimum is proved by hand; CP-SAT must prove and reach exactly it.

Objective order (docs/scheduling.md): visits booked, overtime, total waiting, peak nurse load.
Load units: a nurse offers 4 (ratio 1:4); a set-up task takes 4, a monitored patient 1.
"""

from __future__ import annotations

from msinfusion.scheduling import Chair, ChairId, SolveStatus
from msinfusion.scheduling.backends.cpsat import solve_cpsat
from msinfusion.scheduling.backends.greedy import solve_greedy
from tests.unit.scheduling.helpers import FAST, at, day, visit


def _objective(problem_schedule: object) -> tuple[int, int, int, int]:
    metrics = problem_schedule.metrics()  # type: ignore[attr-defined]
    return (
        metrics.visits_booked,
        metrics.overtime_min,
        metrics.total_wait_min,
        metrics.peak_nurse_load_units,
    )


def test_one_chair_two_five_hour_visits_need_two_hours_overtime() -> None:
    # One chair, 08:00-16:00, hard end 18:00: 2 x 300 min fill 08:00-18:00 exactly, so both are
    # booked only back to back from opening. The second ends 18:00 = closing + 120 min and starts
    # 13:00, 300 min after its start_by of 08:00. Only one visit is ever in a chair, so the peak
    # is one set-up task = 4 units. Optimum (2, 120, 300, 4).
    problem = day([visit("a", 300), visit("b", 300)])
    schedule = solve_cpsat(problem, FAST)
    assert schedule.check() == ()
    assert schedule.status is SolveStatus.OPTIMAL
    assert schedule.bound_gap == 0.0
    assert _objective(schedule) == (2, 120, 300, 4)


def test_a_set_up_needs_the_whole_nurse_so_the_second_patient_waits_an_hour() -> None:
    # Two chairs, one nurse (4 units). Each 60-min visit is a 15-min set-up (4 units) then
    # monitored (1 unit). B's set-up (4) cannot overlap any minute of A (>= 1 more unit), so B
    # starts when A leaves at 09:00 (or the other way round): total wait 60, peak 4.
    problem = day([visit("a", 60), visit("b", 60)], chairs=2, nurses=1, closes=240, latest_end=240)
    schedule = solve_cpsat(problem, FAST)
    assert schedule.check() == ()
    assert schedule.status is SolveStatus.OPTIMAL
    assert _objective(schedule) == (2, 0, 60, 4)


def test_waiting_outranks_the_nurse_peak() -> None:
    # Same with two nurses (8 units): both start at 08:00 (wait 0) at a peak of 2 set-ups = 8
    # units. Staggering would lower the peak to 5 but cost 15 min of waiting, which ranks higher.
    problem = day([visit("a", 60), visit("b", 60)], chairs=2, nurses=2, closes=240, latest_end=240)
    schedule = solve_cpsat(problem, FAST)
    assert schedule.status is SolveStatus.OPTIMAL
    assert _objective(schedule) == (2, 0, 0, 8)


def test_with_slack_in_the_windows_the_peak_is_levelled() -> None:
    # Both patients may start any time 08:00-09:00 without waiting. Every visit has a 4-unit
    # set-up, so the peak is at least 4; A at 08:00 and B at 09:00 reach it. Optimum (2, 0, 0, 4),
    # where starting both at 08:00 (as greedy does) peaks at 8.
    problem = day(
        [visit("a", 60, start_by=60), visit("b", 60, start_by=60)],
        chairs=2,
        nurses=2,
        closes=240,
        latest_end=240,
    )
    schedule = solve_cpsat(problem, FAST)
    assert schedule.status is SolveStatus.OPTIMAL
    assert _objective(schedule) == (2, 0, 0, 4)
    assert _objective(solve_greedy(problem)) == (2, 0, 0, 8)


def test_when_demand_exceeds_capacity_the_most_visits_are_booked_mandatory_first() -> None:
    # One chair, 08:00-10:00 with no overtime allowed: three 60-min visits cannot all fit, two can.
    # Visit c is mandatory (e.g. a day-15 dose), so c and one of a/b are booked.
    problem = day(
        [visit("a", 60), visit("b", 60), visit("c", 60, mandatory=True)],
        closes=120,
        latest_end=120,
    )
    schedule = solve_cpsat(problem, FAST)
    assert schedule.check() == ()
    assert schedule.status is SolveStatus.OPTIMAL
    assert schedule.metrics().visits_booked == 2
    assert schedule.assignment("c") is not None
    # first come, first served books a and b and leaves the mandatory c out
    greedy = solve_greedy(problem)
    assert greedy.status is SolveStatus.UNKNOWN
    assert [v.rule for v in greedy.check()] == ["mandatory-unbooked"]


def test_a_visit_needing_a_bed_waits_for_the_only_bed() -> None:
    # Two chairs, one with a bed. Two bed visits of 60 min cannot share the bed chair: the second
    # starts 09:00 (wait 60) even though the recliner is free.
    chairs = [
        Chair(id=ChairId("recliner")),
        Chair(id=ChairId("bed"), attributes=frozenset({"bed"})),
    ]
    bed = frozenset({"bed"})
    problem = day(
        [visit("a", 60, requires=bed), visit("b", 60, requires=bed)],
        chairs=chairs,
        nurses=2,
        closes=240,
        latest_end=240,
    )
    schedule = solve_cpsat(problem, FAST)
    assert schedule.check() == ()
    assert {a.chair_id for a in schedule.assignments} == {"bed"}
    assert _objective(schedule) == (2, 0, 60, 4)
    assert solve_greedy(problem).check() == ()


def test_infeasible_day_is_a_status_not_an_exception() -> None:
    # Three mandatory 60-min visits, one chair, two hours: no schedule exists.
    problem = day([visit(name, 60, mandatory=True) for name in "abc"], closes=120, latest_end=120)
    schedule = solve_cpsat(problem, FAST)
    assert schedule.status is SolveStatus.INFEASIBLE
    assert schedule.assignments == ()
    assert schedule.bound_gap is None
    assert "mandatory" in schedule.message


def test_a_visit_that_cannot_fit_today_is_left_unbooked() -> None:
    # The patient arrives at 09:30 for a 60-min visit in a day that ends at 10:00.
    problem = day([visit("a", 60, earliest=90, start_by=90)], closes=120, latest_end=120)
    assert solve_cpsat(problem, FAST).unbooked() == ("a",)
    assert solve_greedy(problem).unbooked() == ("a",)
    assert at(90) > problem.opens

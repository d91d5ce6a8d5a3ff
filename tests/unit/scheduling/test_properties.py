"""Hypothesis: on any small day, greedy and CP-SAT solutions pass ``check()``, and they agree.

Invariants: (1) every greedy schedule breaks nothing but possibly "mandatory-unbooked";
(2) every CP-SAT schedule with status optimal/feasible breaks nothing; (3) CP-SAT never calls a
day infeasible that greedy filled with every mandatory visit; (4) an optimal CP-SAT schedule is
lexicographically no worse than greedy's.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.scheduling import Chair, ChairId, DayProblem, Nurse, NurseId, SolveStatus
from msinfusion.scheduling.backends.cpsat import CpSatOptions, solve_cpsat
from msinfusion.scheduling.backends.greedy import solve_greedy
from msinfusion.scheduling.schedule import Schedule
from tests.unit.scheduling.helpers import DAY, OPENS, at, visit

TINY = CpSatOptions(time_limit=timedelta(seconds=1), num_workers=1)


@st.composite
def days(draw: st.DrawFn) -> DayProblem:
    chairs = [
        Chair(
            id=ChairId(f"c{i}"),
            attributes=frozenset({"bed"}) if draw(st.booleans()) else frozenset(),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    has_bed = any(c.attributes for c in chairs)
    nurses = []
    for i in range(draw(st.integers(1, 2))):
        begin = draw(st.sampled_from([0, 0, 30, 60]))
        end = draw(st.sampled_from([180, 240, 240]))
        nurses.append(Nurse(id=NurseId(f"n{i}"), shift_start=at(begin), shift_end=at(end)))
    visits = []
    for i in range(draw(st.integers(1, 5))):
        length = 5 * draw(st.integers(3, 30))
        earliest = 5 * draw(st.integers(0, 30))
        visits.append(
            visit(
                f"v{i}",
                length,
                setup=min(15, length),
                infusion_offset=min(15, length - 5),
                earliest=earliest,
                start_by=earliest + 5 * draw(st.integers(0, 12)),
                mandatory=draw(st.booleans()) and draw(st.booleans()),
                requires=frozenset({"bed"}) if has_bed and draw(st.booleans()) else frozenset(),
            )
        )
    return DayProblem(
        day=DAY,
        opens=OPENS,
        closes=at(240),
        latest_end=at(300),
        chairs=tuple(chairs),
        nurses=tuple(nurses),
        visits=tuple(visits),
        nurse_ratio=draw(st.integers(1, 4)),
        observation_monitored=draw(st.booleans()),
    )


def _key(schedule: Schedule) -> tuple[int, int, int, int]:
    m = schedule.metrics()
    return (-m.visits_booked, m.overtime_min, m.total_wait_min, m.peak_nurse_load_units)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days())
def test_greedy_and_cpsat_always_pass_check(problem: DayProblem) -> None:
    greedy = solve_greedy(problem)
    assert {v.rule for v in greedy.check()} <= {"mandatory-unbooked"}
    assert (greedy.status is SolveStatus.FEASIBLE) == (greedy.check() == ())
    cpsat = solve_cpsat(problem, TINY)
    if cpsat.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        assert cpsat.check() == ()
    if greedy.status is SolveStatus.FEASIBLE:
        assert cpsat.status is not SolveStatus.INFEASIBLE
    if cpsat.status is SolveStatus.OPTIMAL and greedy.status is SolveStatus.FEASIBLE:
        assert _key(cpsat) <= _key(greedy)

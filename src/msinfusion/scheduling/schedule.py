"""A solved (or partly solved) day: which visit sits in which chair when, and how good it is."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from msinfusion.scheduling.assignment import Assignment, Metrics, Violation
from msinfusion.scheduling.check import check_schedule, measure
from msinfusion.scheduling.problem import DayProblem, VisitId


class SolveStatus(enum.StrEnum):
    """What a back end can say about its answer; "infeasible" is a status, never an exception.

    ``optimal``: proven best in the stated objective order. ``feasible``: passes every hard
    constraint, not proven best. ``infeasible``: proven that no schedule books every mandatory
    and started visit. ``unknown``: nothing proven and (for greedy) a mandatory visit not placed.
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """The answer of a back end. ``check()`` re-verifies every hard constraint independently.

    ``bound_gap`` is the relative gap between the objective found and the solver's proven bound
    at the first objective level not proven optimal (0.0 when every level is optimal; None when
    the back end proves nothing, e.g. greedy). ``level_gaps`` gives it per level.
    """

    problem: DayProblem
    assignments: tuple[Assignment, ...]
    status: SolveStatus
    solver: str
    bound_gap: float | None = None
    level_gaps: tuple[tuple[str, float], ...] = ()
    message: str = ""

    def check(self) -> tuple[Violation, ...]:
        return check_schedule(self.problem, self.assignments)

    def metrics(self) -> Metrics:
        return measure(self.problem, self.assignments)

    def assignment(self, visit_id: str) -> Assignment | None:
        return next((a for a in self.assignments if a.visit_id == visit_id), None)

    def unbooked(self) -> tuple[VisitId, ...]:
        booked = {a.visit_id for a in self.assignments}
        return tuple(v.id for v in self.problem.visits if v.id not in booked)

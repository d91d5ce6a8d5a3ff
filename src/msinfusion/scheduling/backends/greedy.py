"""First come, first served, as clinics book today.

Visits are taken in booking order (the order of ``DayProblem.visits``; started visits first, where
they are). Each gets the earliest grid start at or after the patient's earliest time at which a
suitable chair is free for the whole visit and the nurse load stays within the nurses on shift.
A visit that fits nowhere before the day's hard end is not booked. Greedy proves nothing: its
status is ``feasible`` when every mandatory visit is booked and ``unknown`` otherwise.
"""

from __future__ import annotations

from msinfusion.scheduling.assignment import Assignment
from msinfusion.scheduling.problem import ChairId, DayProblem, Visit
from msinfusion.scheduling.schedule import Schedule, SolveStatus
from msinfusion.scheduling.timeline import (
    VisitShape,
    earliest_start,
    horizon,
    latest_start,
    nurses_on_shift,
    visit_shape,
    whole_minutes,
)


class _Day:
    """Mutable bookkeeping of one greedy pass: chair occupancy and nurse load per minute."""

    def __init__(self, problem: DayProblem) -> None:
        self.problem = problem
        self.capacity = [problem.nurse_ratio * n for n in nurses_on_shift(problem)]
        self.load = [0] * horizon(problem)
        self.busy: dict[ChairId, list[tuple[int, int]]] = {c.id: [] for c in problem.chairs}

    def free_chair(self, visit: Visit, start: int, length: int) -> ChairId | None:
        for chair in self.problem.chairs:
            if chair.can_host(visit) and all(
                end <= start or start + length <= begin for begin, end in self.busy[chair.id]
            ):
                return chair.id
        return None

    def nurse_fits(self, shape: VisitShape, start: int) -> bool:
        for piece in shape.pieces:
            first = start + piece.offset
            for minute in range(max(0, first), first + piece.length):
                if self.load[minute] + piece.demand > self.capacity[minute]:
                    return False
        return True

    def book(self, shape: VisitShape, chair: ChairId, start: int) -> None:
        self.busy[chair].append((start, start + shape.length))
        for piece in shape.pieces:
            first = start + piece.offset
            for minute in range(max(0, first), min(len(self.load), first + piece.length)):
                self.load[minute] += piece.demand


def solve_greedy(problem: DayProblem) -> Schedule:
    """Book visits first come, first served; never raises for a day that does not fit."""
    day = _Day(problem)
    placed: list[Assignment] = []
    for visit in problem.visits:
        if visit.pin is not None:
            day.book(
                visit_shape(problem, visit), visit.pin.chair_id, problem.minute(visit.pin.start)
            )
            placed.append(
                Assignment(visit_id=visit.id, chair_id=visit.pin.chair_id, start=visit.pin.start)
            )
    for visit in problem.visits:
        if visit.pin is not None:
            continue
        found = _first_fit(day, visit)
        if found is not None:
            chair, start, shape = found
            day.book(shape, chair, start)
            placed.append(
                Assignment(visit_id=visit.id, chair_id=chair, start=problem.at_minute(start))
            )
    booked = {a.visit_id for a in placed}
    missing = [v.id for v in problem.visits if v.mandatory and v.id not in booked]
    return Schedule(
        problem=problem,
        assignments=tuple(placed),
        status=SolveStatus.UNKNOWN if missing else SolveStatus.FEASIBLE,
        solver="greedy",
        bound_gap=None,
        message=f"mandatory visits not placed: {', '.join(missing)}" if missing else "",
    )


def _first_fit(day: _Day, visit: Visit) -> tuple[ChairId, int, VisitShape] | None:
    problem = day.problem
    shape = visit_shape(problem, visit)
    step = whole_minutes(problem.slot)
    for start in range(earliest_start(problem, visit), latest_start(problem, visit) + 1, step):
        if not day.nurse_fits(shape, start):
            continue
        chair = day.free_chair(visit, start, shape.length)
        if chair is not None:
            return chair, start, shape
    return None

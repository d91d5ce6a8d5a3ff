"""Solve a centre day with CP-SAT: lexicographic levels, a time limit, a warm start.

The time limit covers everything from the call to the answer: building the model, the greedy
warm start and every level. It is shared out level by level (each level gets the time left
divided by the levels left, less a margin for CP-SAT's own set-up, so time a level does not need
passes on), measured with a monotonic clock. A level that gets no time keeps the value it has in
the schedule found so far and is reported unproven. "Infeasible" and "no answer in time" are
statuses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from ortools.sat.python import cp_model

from msinfusion.scheduling.assignment import Assignment
from msinfusion.scheduling.backends.cpsat.objective import Level, build_levels
from msinfusion.scheduling.backends.cpsat.variables import DayVars, VisitVars, build_variables
from msinfusion.scheduling.backends.greedy import solve_greedy
from msinfusion.scheduling.colouring import Stay, assign_chairs
from msinfusion.scheduling.problem import ChairId, DayProblem, VisitId
from msinfusion.scheduling.schedule import Schedule, SolveStatus
from msinfusion.scheduling.timeline import whole_minutes


@dataclass(frozen=True, slots=True, kw_only=True)
class CpSatOptions:
    """``time_limit`` for all levels together; ``warm_start`` hints the greedy schedule."""

    time_limit: timedelta = timedelta(seconds=10)
    num_workers: int = 8
    random_seed: int = 0
    warm_start: bool = True


# (visit index, booked, slot index, chair class) for every visit that is not pinned
_Values = dict[int, tuple[bool, int, int]]


def solve_cpsat(
    problem: DayProblem, options: CpSatOptions | None = None, *, hint: Schedule | None = None
) -> Schedule:
    """The best schedule CP-SAT finds within the time limit; never raises for "infeasible"."""
    options = options or CpSatOptions()
    deadline = time.monotonic() + options.time_limit.total_seconds()
    day = build_variables(problem)
    levels = build_levels(day)
    if options.warm_start:
        _hint(day, _values_of(day, hint or solve_greedy(problem)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, options.num_workers)
    solver.parameters.random_seed = options.random_seed
    values: _Values | None = None
    gaps: list[tuple[str, float]] = []
    found_at: dict[str, int] = {}
    for number, level in enumerate(levels):
        left = deadline - time.monotonic()
        share = left / (len(levels) - number) - _SETUP_MARGIN
        if share < _MIN_LEVEL_TIME and values is not None:
            gaps.extend(_unproven(solver, lv) for lv in levels[number:])
            break
        if level.prepare is not None:
            level.prepare(found_at)
            share = (deadline - time.monotonic()) / (len(levels) - number) - _SETUP_MARGIN
        solver.parameters.max_time_in_seconds = max(_MIN_LEVEL_TIME, share)
        day.model.minimize(level.expression)
        status = solver.solve(day.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if values is None:
                return _no_schedule(problem, status, solver.status_name(status))
            # levels that got no answer keep the last solution's values, unproven
            gaps.extend((lv.name, 1.0) for lv in levels[number:])
            break
        values = _read(day, solver)
        found = round(solver.objective_value)
        found_at[level.name] = found
        optimal = status == cp_model.OPTIMAL
        gaps.append((level.name, 0.0 if optimal else _gap(found, solver.best_objective_bound)))
        day.model.add(level.expression <= found)
        _hint(day, values)
    assert values is not None
    first_open = next((gap for _, gap in gaps if gap > 0), 0.0)
    return Schedule(
        problem=problem,
        assignments=_assignments(day, values),
        status=SolveStatus.OPTIMAL if first_open == 0 else SolveStatus.FEASIBLE,
        solver="cpsat",
        bound_gap=round(first_open, 4),
        level_gaps=tuple((name, round(gap, 4)) for name, gap in gaps),
    )


_SETUP_MARGIN = 0.05  # seconds per level: CP-SAT's model copy and presolve start-up
_MIN_LEVEL_TIME = 0.05


def _unproven(solver: cp_model.CpSolver, level: Level) -> tuple[str, float]:
    """A level never solved: its value in the last solution against the trivial bound 0."""
    return level.name, 0.0 if solver.value(level.expression) == 0 else 1.0


def _gap(found: int, bound: float) -> float:
    return max(0.0, found - bound) / max(1.0, abs(found))


def _no_schedule(problem: DayProblem, status: object, name: str) -> Schedule:
    verdict = SolveStatus.INFEASIBLE if status == cp_model.INFEASIBLE else SolveStatus.UNKNOWN
    reason = (
        "no schedule books every mandatory and started visit"
        if verdict is SolveStatus.INFEASIBLE
        else f"no schedule found within the time limit (CP-SAT: {name})"
    )
    return Schedule(
        problem=problem,
        assignments=(),
        status=verdict,
        solver="cpsat",
        bound_gap=None,
        message=reason,
    )


def _read(day: DayVars, solver: cp_model.CpSolver) -> _Values:
    values: _Values = {}
    for number, v in enumerate(day.visits):
        if v.slot_index is None:
            continue
        booked = bool(solver.value(v.booked))
        cls = next((c for c, lit in v.presence.items() if solver.value(lit)), -1)
        values[number] = (booked, solver.value(v.slot_index), cls)
    return values


def _values_of(day: DayVars, schedule: Schedule) -> _Values:
    """Solver values of an existing schedule (the warm start)."""
    step = whole_minutes(day.problem.slot)
    chair_class = {
        day.problem.chairs[i].id: c for c, members in enumerate(day.classes) for i in members
    }
    values: _Values = {}
    for number, v in enumerate(day.visits):
        if v.slot_index is None:
            continue
        placed = schedule.assignment(v.visit.id)
        if placed is None:
            values[number] = (False, 0, -1)
        else:
            minute = day.problem.minute(placed.start)
            values[number] = (True, minute // step, chair_class[placed.chair_id])
    return values


def _hint(day: DayVars, values: _Values) -> None:
    day.model.clear_hints()  # type: ignore[no-untyped-call]  # untyped in ortools 9.15
    for number, (booked, index, cls) in values.items():
        v = day.visits[number]
        assert v.slot_index is not None
        if not isinstance(v.booked, int):
            day.model.add_hint(v.booked, booked)
        if booked:
            day.model.add_hint(v.slot_index, index)
        for c, lit in v.presence.items():
            if not isinstance(lit, int) and lit is not v.booked:
                day.model.add_hint(lit, c == cls)


def _assignments(day: DayVars, values: _Values) -> tuple[Assignment, ...]:
    problem, step = day.problem, whole_minutes(day.problem.slot)
    stays: dict[int, list[tuple[VisitVars, Stay]]] = {c: [] for c in range(len(day.classes))}
    for number, v in enumerate(day.visits):
        if v.visit.pin is not None:
            start = problem.minute(v.visit.pin.start)
            cls, chair = next(iter(v.presence)), v.visit.pin.chair_id
        else:
            booked, index, cls = values[number]
            if not booked:
                continue
            start, chair = index * step, None
        stay = Stay(
            visit_id=v.visit.id, start=start, end=start + v.shape.length, pinned_chair=chair
        )
        stays[cls].append((v, stay))
    placed: list[Assignment] = []
    for cls, members in stays.items():
        chairs = [ChairId(problem.chairs[i].id) for i in day.classes[cls]]
        chosen = assign_chairs([stay for _, stay in members], chairs)
        for v, stay in members:
            pin = v.visit.pin
            moment = pin.start if pin is not None else problem.at_minute(stay.start)
            placed.append(
                Assignment(
                    visit_id=VisitId(v.visit.id), chair_id=chosen[stay.visit_id], start=moment
                )
            )
    order = {v.id: i for i, v in enumerate(problem.visits)}
    return tuple(sorted(placed, key=lambda a: order[a.visit_id]))

"""CP-SAT values of a day and schedules, both ways: read a solution, hint a schedule, and
turn values into assignments (chairs coloured per class)."""

from __future__ import annotations

from ortools.sat.python import cp_model

from msinfusion.scheduling.assignment import Assignment
from msinfusion.scheduling.backends.cpsat.variables import DayVars, VisitVars
from msinfusion.scheduling.colouring import Stay, assign_chairs
from msinfusion.scheduling.problem import ChairId, VisitId
from msinfusion.scheduling.schedule import Schedule
from msinfusion.scheduling.timeline import whole_minutes

# (booked, slot index, chair class) per visit index, for every visit that is not pinned
Values = dict[int, tuple[bool, int, int]]


def read_values(day: DayVars, solver: cp_model.CpSolver) -> Values:
    values: Values = {}
    for number, v in enumerate(day.visits):
        if v.slot_index is None:
            continue
        booked = bool(solver.value(v.booked))
        cls = next((c for c, lit in v.presence.items() if solver.value(lit)), -1)
        values[number] = (booked, solver.value(v.slot_index), cls)
    return values


def values_of(day: DayVars, schedule: Schedule) -> Values:
    """Solver values of an existing schedule (the warm start)."""
    step = whole_minutes(day.problem.slot)
    chair_class = {
        day.problem.chairs[i].id: c for c, members in enumerate(day.classes) for i in members
    }
    values: Values = {}
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


def add_hint(day: DayVars, values: Values) -> None:
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


def assignments_of(day: DayVars, values: Values) -> tuple[Assignment, ...]:
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

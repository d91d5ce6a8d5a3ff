"""CP-SAT variables of a centre day: one start, one booked flag and a few intervals per visit.

Identical chairs form a *chair class* (same attribute set). A visit chooses one compatible class
(``presence``); within a class, chairs are interchangeable, so a cumulative of the class size is
exact and chairs are assigned afterwards by colouring (``scheduling.colouring``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from msinfusion.scheduling.problem import DayProblem, Visit
from msinfusion.scheduling.timeline import (
    VisitShape,
    earliest_start,
    latest_start,
    start_by_minute,
    visit_shape,
    whole_minutes,
)

LinearExpr = cp_model.LinearExprT


@dataclass(slots=True, kw_only=True)
class VisitVars:
    """The variables of one visit; ``slot_index`` is None for a started (pinned) visit."""

    visit: Visit
    shape: VisitShape
    start: LinearExpr
    slot_index: cp_model.IntVar | None
    booked: cp_model.IntVar | int
    presence: dict[int, cp_model.IntVar | int]
    chair_intervals: dict[int, cp_model.IntervalVar]
    load_intervals: list[tuple[cp_model.IntervalVar, int]]
    wait: cp_model.IntVar | int
    start_by: int


@dataclass(slots=True, kw_only=True)
class DayVars:
    model: cp_model.CpModel
    problem: DayProblem
    classes: tuple[tuple[int, ...], ...]
    visits: list[VisitVars] = field(default_factory=list)


def chair_classes(problem: DayProblem) -> tuple[tuple[int, ...], ...]:
    """Chair indices grouped by identical attribute sets, in first-seen order."""
    groups: dict[frozenset[str], list[int]] = {}
    for index, chair in enumerate(problem.chairs):
        groups.setdefault(chair.attributes, []).append(index)
    return tuple(tuple(members) for members in groups.values())


def build_variables(problem: DayProblem) -> DayVars:
    model = cp_model.CpModel()
    day = DayVars(model=model, problem=problem, classes=chair_classes(problem))
    for number, visit in enumerate(problem.visits):
        if visit.pin is None:
            day.visits.append(_free_visit(day, number, visit))
        else:
            day.visits.append(_pinned_visit(day, visit))
    return day


def _compatible(day: DayVars, visit: Visit) -> list[int]:
    chairs = day.problem.chairs
    return [c for c, members in enumerate(day.classes) if chairs[members[0]].can_host(visit)]


def _free_visit(day: DayVars, number: int, visit: Visit) -> VisitVars:
    model, problem = day.model, day.problem
    shape = visit_shape(problem, visit)
    step = whole_minutes(problem.slot)
    low, high = earliest_start(problem, visit), latest_start(problem, visit)
    booked = model.new_bool_var(f"booked_{number}")
    if low > high:  # cannot fit today: never booked (a mandatory visit makes the day infeasible)
        model.add(booked == 0)
        high = low
    index = model.new_int_var(low // step, high // step, f"slot_{number}")
    start = step * index
    classes = _compatible(day, visit)
    presence: dict[int, cp_model.IntVar | int] = {}
    if len(classes) == 1:
        presence[classes[0]] = booked
    else:
        for c in classes:
            presence[c] = model.new_bool_var(f"class_{number}_{c}")
        model.add(sum(presence.values()) == booked)
    chair_intervals = {
        c: model.new_optional_fixed_size_interval_var(start, shape.length, lit, f"chair_{number}")
        for c, lit in presence.items()
        if not isinstance(lit, int)
    }
    load = [
        (
            model.new_optional_fixed_size_interval_var(
                start + piece.offset, piece.length, booked, f"load_{number}_{piece.offset}"
            ),
            piece.demand,
        )
        for piece in shape.pieces
    ]
    start_by = start_by_minute(problem, visit)
    wait = model.new_int_var(0, max(0, high - start_by), f"wait_{number}")
    model.add(wait >= start - start_by).only_enforce_if(booked)
    if visit.mandatory:
        model.add(booked == 1)
    return VisitVars(
        visit=visit,
        shape=shape,
        start=start,
        slot_index=index,
        booked=booked,
        presence=presence,
        chair_intervals=chair_intervals,
        load_intervals=load,
        wait=wait,
        start_by=start_by,
    )


def _pinned_visit(day: DayVars, visit: Visit) -> VisitVars:
    assert visit.pin is not None
    model, problem = day.model, day.problem
    shape = visit_shape(problem, visit)
    start = problem.minute(visit.pin.start)
    chair_index = next(i for i, c in enumerate(problem.chairs) if c.id == visit.pin.chair_id)
    cls = next(c for c, members in enumerate(day.classes) if chair_index in members)
    name = f"pinned_{visit.id}"
    start_by = start_by_minute(problem, visit)
    return VisitVars(
        visit=visit,
        shape=shape,
        start=start,
        slot_index=None,
        booked=1,
        presence={cls: 1},
        chair_intervals={cls: model.new_fixed_size_interval_var(start, shape.length, name)},
        load_intervals=[
            (model.new_fixed_size_interval_var(start + p.offset, p.length, name), p.demand)
            for p in shape.pieces
        ],
        wait=max(0, start - start_by),
        start_by=start_by,
    )

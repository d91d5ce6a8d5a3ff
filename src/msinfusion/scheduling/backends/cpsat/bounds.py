"""Redundant constraints that tighten CP-SAT's bounds, and symmetry breaking (none change the
set of optimal schedules' objective values; every one is implied by the exact model).

* **identical visits** (same shape, window, pharmacy time, chair classes, mandatory flag) are
  interchangeable: the earlier-listed one is booked if the later one is, and starts no later.
  Identical *chairs* need nothing here: a chair class is one cumulative and chairs are coloured
  afterwards (``variables``), so the model has no chair symmetry to break.
* **energy after a release time** (overtime): the visits that cannot start before minute ``T``
  must fit their chair minutes, and their nurse-load minutes, into ``[T, closes + overtime]``.
  Linear in ``overtime``, so the LP relaxation proves an overtime lower bound.

Tried and left out (2026-12-03): the same energy argument before a due time as a lower bound on
waiting (``e - wait`` of a visit's energy falls inside ``[T, E]``). It is valid but did not
improve the waiting bound at 30 chairs in 10 s (a centre at 80 % utilisation rarely has more
demand than capacity in a window), and it adds hundreds of constraints.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import accumulate, pairwise

from ortools.sat.python import cp_model

from msinfusion.scheduling.backends.cpsat.variables import DayVars, VisitVars
from msinfusion.scheduling.timeline import earliest_start, nurses_on_shift


def break_visit_symmetry(day: DayVars) -> None:
    groups: dict[tuple[object, ...], list[VisitVars]] = defaultdict(list)
    for v in day.visits:
        if v.slot_index is None:
            continue
        key = (
            v.shape,
            v.start_by,
            earliest_start(day.problem, v.visit),
            v.visit.drug_ready_at,
            v.visit.requires,
            v.visit.mandatory,
        )
        groups[key].append(v)
    for members in groups.values():
        for first, second in pairwise(members):
            assert first.slot_index is not None
            assert second.slot_index is not None
            if not isinstance(second.booked, int):
                day.model.add_implication(second.booked, first.booked)
                day.model.add(first.slot_index <= second.slot_index).only_enforce_if(second.booked)


def _free(day: DayVars) -> list[tuple[VisitVars, int]]:
    """Free visits with their earliest start minute."""
    return [
        (v, earliest_start(day.problem, v.visit)) for v in day.visits if v.slot_index is not None
    ]


def _load_energy(v: VisitVars) -> int:
    return sum(p.demand * p.length for p in v.shape.pieces)


def add_overtime_energy(day: DayVars, overtime: cp_model.IntVar) -> None:
    """Chair and nurse energy of late-released visits must fit before closes + overtime."""
    problem = day.problem
    closes = problem.minute(problem.closes)
    units = [problem.nurse_ratio * n for n in nurses_on_shift(problem)]
    before = [0, *accumulate(units)]
    late = max(units[closes:], default=0)
    chairs = len(problem.chairs)
    free = _free(day)
    pinned = [v for v in day.visits if v.slot_index is None]
    for release in sorted({low for _, low in free}):
        if release >= closes:
            continue
        members = [v for v, low in free if low >= release]
        fixed_chair = sum(
            max(0, v.start + v.shape.length - max(release, v.start))
            for v in pinned
            if isinstance(v.start, int)
        )
        chair_terms = [v.shape.length * v.booked for v in members]
        day.model.add(
            sum(chair_terms) + fixed_chair <= chairs * (closes - release) + chairs * overtime
        )
        load_terms = [_load_energy(v) * v.booked for v in members]
        day.model.add(
            sum(load_terms) <= before[min(closes, len(units))] - before[release] + late * overtime
        )

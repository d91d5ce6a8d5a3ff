"""Redundant constraints that tighten CP-SAT's bounds, and symmetry breaking (none change the
set of optimal schedules' objective values; every one is implied by the exact model).

* **identical visits** (same shape, window, pharmacy time, chair classes, mandatory flag) are
  interchangeable: the earlier-listed one is booked if the later one is, and starts no later.
  Identical *chairs* need nothing here: a chair class is one cumulative and chairs are coloured
  afterwards (``variables``), so the model has no chair symmetry to break.
* **energy after a release time** (overtime): the visits that cannot start before minute ``T``
  must fit their chair minutes, and their nurse-load minutes, into ``[T, closes + overtime]``.
  Linear in ``overtime``, so the LP relaxation proves an overtime lower bound.
* **energy inside a window** (peak nurse load, added just before that level, once overtime and
  waiting are fixed): the load a visit must put inside ``[a, b)`` wherever it starts in its
  remaining range needs ``peak x (b - a)`` (``add_peak_energy``). At 30 chairs, seed 0, it
  raised the proven peak bound from 37 to 41 units (found 49) in one 20 s run.

Tried and left out (2026-12-03): the same energy argument before a due time as a lower bound on
waiting (``e - wait`` of a visit's energy falls inside ``[T, E]``). It is valid but did not
improve the waiting bound at 30 chairs in 10 s (a centre at 80 % utilisation rarely has more
demand than capacity in a window), and it adds hundreds of constraints. Also tried
(2026-12-03, one 20 s run each, no consistent gain: the waiting bound varies as
much between identical runs, 261-775 at 30 chairs seed 0): ``linearization_level = 2`` (30
chairs seeds 0, 3, 4; 60 chairs seeds 0, 1) and, with 2 workers, the subsolver pairs
``max_lp + core``, ``default_lp + core``, ``max_lp + quick_restart`` (30 chairs seed 4).

Since 2026-12-04 the waiting bound, and most overtime and peak bounds at 30 and 60 chairs, come
from the time-indexed MIP (``timeindexed``), not from these constraints. They stay: they are
implied, and CP-SAT still runs first on booked and overtime (not re-measured without them).
"""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import accumulate, pairwise

from ortools.sat.python import cp_model

from msinfusion.scheduling.backends.cpsat.variables import DayVars, VisitVars
from msinfusion.scheduling.timeline import (
    earliest_start,
    latest_start,
    nurses_on_shift,
    whole_minutes,
)


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


PEAK_WINDOW_STEP = 30  # minutes between candidate window edges for the peak-load bound
PEAK_WINDOWS = 60  # the strongest windows kept (each is one linear constraint)


def add_peak_energy(
    day: DayVars, peak: cp_model.IntVar, *, overtime_min: int, total_wait_min: int
) -> int:
    """Before the peak level: the nurse-load energy a visit must put inside a window, whatever
    its start, needs ``peak x window length``. Returns the strongest static bound (all booked).

    Once overtime and waiting are fixed at the values found, a booked visit starts in
    ``[earliest, min(latest, closes + overtime - length, start_by + total wait)]``. Each load
    piece's overlap with a window is smallest at one end of that range (an overlap is unimodal
    in the start), so the sum of those minima is energy no schedule can move out. Redundant:
    implied by the peak cumulative, but linear, so the LP relaxation sees it.
    """
    problem, step = day.problem, whole_minutes(day.problem.slot)
    end = problem.minute(problem.closes) + overtime_min
    ranges = []  # (booked literal or 1, shape, first start, last start)
    for v in day.visits:
        if isinstance(v.start, int):
            ranges.append((v.booked, v.shape, v.start, v.start))
            continue
        low = earliest_start(problem, v.visit) // step * step
        high = min(
            latest_start(problem, v.visit), end - v.shape.length, v.start_by + total_wait_min
        )
        high = high // step * step
        if high >= low:
            ranges.append((v.booked, v.shape, low, high))
    edges = list(range(0, end + 1, PEAK_WINDOW_STEP))
    windows: list[tuple[float, int, int, list[tuple[cp_model.IntVar | int, int]]]] = []
    for a in edges:
        for b in edges:
            if b <= a:
                continue
            terms = []
            for booked, shape, low, high in ranges:
                energy = sum(
                    piece.demand
                    * min(
                        _overlap(low + piece.offset, piece.length, a, b),
                        _overlap(high + piece.offset, piece.length, a, b),
                    )
                    for piece in shape.pieces
                )
                if energy:
                    terms.append((booked, energy))
            total = sum(e for _, e in terms)
            if total:
                windows.append((total / (b - a), a, b, terms))
    windows.sort(key=lambda w: w[0], reverse=True)
    for _, a, b, terms in windows[:PEAK_WINDOWS]:
        day.model.add(sum(e * booked for booked, e in terms) <= (b - a) * peak)
    return math.ceil(windows[0][0]) if windows else 0


def _overlap(start: int, length: int, a: int, b: int) -> int:
    """Minutes of ``[start, start + length)`` inside ``[a, b)``.

    >>> _overlap(10, 20, 0, 15), _overlap(10, 20, 30, 40)
    (5, 0)
    """
    return max(0, min(start + length, b) - max(start, a))

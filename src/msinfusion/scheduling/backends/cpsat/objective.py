"""The objective: four levels, solved lexicographically (most important first).

1. ``visits_booked``: book as many visits as possible (minimise visits left unbooked);
2. ``overtime_min``: minutes the last chair is released after closing;
3. ``total_wait_min``: minutes patients start after their preferred latest start, summed;
4. ``peak_nurse_load``: the highest nurse-load (units) at any minute.

Lexicographic rather than weighted: the dossier (A5) measured weak bounds for weighted sums, and a
lexicographic order needs no weights that a centre would have to justify. Each level is solved
with the previous levels held at the values found.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from msinfusion.scheduling.backends.cpsat.bounds import (
    add_overtime_energy,
    add_peak_energy,
    break_visit_symmetry,
)
from msinfusion.scheduling.backends.cpsat.constraints import (
    add_chair_capacity,
    add_nurse_capacity,
    add_overtime,
)
from msinfusion.scheduling.backends.cpsat.variables import DayVars, LinearExpr


@dataclass(frozen=True, slots=True, kw_only=True)
class Level:
    """One objective level, always minimised (``visits_booked`` as visits left unbooked).

    ``prepare`` adds redundant constraints that need the values found at the levels above it
    (by name) before the level is solved.
    """

    name: str
    expression: LinearExpr
    prepare: Callable[[Mapping[str, int]], None] | None = None


def build_levels(day: DayVars) -> tuple[Level, ...]:
    """Add every constraint (and the redundant ones of ``bounds``), then return the objective
    levels in their lexicographic order."""
    add_chair_capacity(day)
    peak = add_nurse_capacity(day)
    overtime = add_overtime(day)
    break_visit_symmetry(day)
    add_overtime_energy(day, overtime)
    unbooked = cp_model.LinearExpr.sum([1 - v.booked for v in day.visits])
    wait = cp_model.LinearExpr.sum([v.wait for v in day.visits])
    return (
        Level(name="visits_booked", expression=unbooked),
        Level(name="overtime_min", expression=overtime),
        Level(name="total_wait_min", expression=wait),
        Level(
            name="peak_nurse_load",
            expression=peak,
            prepare=lambda found: _peak_bound(day, peak, found),
        ),
    )


def _peak_bound(day: DayVars, peak: cp_model.IntVar, found: Mapping[str, int]) -> None:
    add_peak_energy(
        day,
        peak,
        overtime_min=found["overtime_min"],
        total_wait_min=found["total_wait_min"],
    )

"""Assign chairs of one class to visits whose overlap never exceeds the class size.

Interval-graph colouring: take visits by start time and give each the first chair free at its
start. A visit overlapping an earlier-placed one overlaps it *at its own start*, so when at most
``k`` visits overlap anywhere, at most ``k - 1`` chairs are busy then and one is free. Started
(pinned) visits keep their chair; they all start no later than any re-planned visit (validated in
``DayProblem``), so they are simply the first ones taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from msinfusion.errors import SchedulingError
from msinfusion.scheduling.problem import ChairId, VisitId


@dataclass(frozen=True, slots=True, kw_only=True)
class Stay:
    visit_id: VisitId
    start: int
    end: int
    pinned_chair: ChairId | None = None


def assign_chairs(stays: Sequence[Stay], chairs: Sequence[ChairId]) -> dict[VisitId, ChairId]:
    """Chair per visit; raises ``SchedulingError`` only if the overlap exceeds ``len(chairs)``."""
    free_at: dict[ChairId, int] = dict.fromkeys(chairs, -(10**9))
    result: dict[VisitId, ChairId] = {}
    pinned = [s for s in stays if s.pinned_chair is not None]
    for stay in pinned:
        assert stay.pinned_chair is not None
        result[stay.visit_id] = stay.pinned_chair
        free_at[stay.pinned_chair] = max(free_at[stay.pinned_chair], stay.end)
    for stay in sorted((s for s in stays if s.pinned_chair is None), key=lambda s: s.start):
        chair = next((c for c in chairs if free_at[c] <= stay.start), None)
        if chair is None:
            raise SchedulingError(
                f"visit {stay.visit_id}: no chair free at minute {stay.start}", field="chair_id"
            )
        result[stay.visit_id] = chair
        free_at[chair] = stay.end
    return result

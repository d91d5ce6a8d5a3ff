"""Minute arithmetic shared by the back ends: visit shapes, start ranges, nurse capacity.

Everything here counts whole minutes from the day's opening. ``Schedule.check`` deliberately does
not use these helpers for its verdicts (it recounts from the problem's own fields), so a bug here
shows up as a violation rather than hiding in both the solver and the checker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from msinfusion.scheduling.problem import DayProblem, Visit

MINUTE = timedelta(minutes=1)


def whole_minutes(value: timedelta) -> int:
    return int(value // MINUTE)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadPiece:
    """``demand`` nurse-load units from ``offset`` for ``length`` minutes after the chair start."""

    offset: int
    length: int
    demand: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitShape:
    """A visit in minutes: chair length, drug start offset, and its nurse-load pieces.

    Load units: a nurse offers ``nurse_ratio`` units; a nurse-held task takes all of them (one
    nurse), a monitored patient takes one. Where a visit's tasks overlap they are merged, so one
    visit never needs two nurses at once.
    """

    length: int
    infusion_offset: int
    pieces: tuple[LoadPiece, ...]


def visit_shape(problem: DayProblem, visit: Visit) -> VisitShape:
    length = whole_minutes(visit.chair_time)
    ratio = problem.nurse_ratio
    demand = [0] * length
    monitor_end = (
        length if problem.observation_monitored else whole_minutes(visit.infusion_end_offset)
    )
    for minute in range(whole_minutes(visit.infusion_offset), monitor_end):
        demand[minute] = 1
    for task in visit.nurse_tasks:
        start = whole_minutes(task.offset)
        for minute in range(start, start + whole_minutes(task.duration)):
            demand[minute] = ratio
    return VisitShape(
        length=length,
        infusion_offset=whole_minutes(visit.infusion_offset),
        pieces=_runs(demand),
    )


def _runs(demand: list[int]) -> tuple[LoadPiece, ...]:
    pieces: list[LoadPiece] = []
    start = 0
    for minute in range(1, len(demand) + 1):
        if minute == len(demand) or demand[minute] != demand[start]:
            if demand[start]:
                pieces.append(LoadPiece(offset=start, length=minute - start, demand=demand[start]))
            start = minute
    return tuple(pieces)


def horizon(problem: DayProblem) -> int:
    """Minutes from opening to the hard end of the day."""
    return problem.minute(problem.latest_end)


def _ceil_minute(problem: DayProblem, moment: datetime) -> int:
    delta = moment.astimezone(UTC) - problem.opens.astimezone(UTC)
    return math.ceil(delta / MINUTE)


def earliest_start(problem: DayProblem, visit: Visit) -> int:
    """The first grid minute the visit may start (patient, current time, pharmacy)."""
    bounds = [0, _ceil_minute(problem, visit.window.earliest)]
    if problem.not_before is not None:
        bounds.append(_ceil_minute(problem, problem.not_before))
    if visit.drug_ready_at is not None:
        ready = _ceil_minute(problem, visit.drug_ready_at)
        bounds.append(ready - whole_minutes(visit.infusion_offset))
    slot = whole_minutes(problem.slot)
    return -(-max(bounds) // slot) * slot


def latest_start(problem: DayProblem, visit: Visit) -> int:
    """The last grid minute the visit may start and still end by ``latest_end``."""
    slot = whole_minutes(problem.slot)
    return (horizon(problem) - whole_minutes(visit.chair_time)) // slot * slot


def start_by_minute(problem: DayProblem, visit: Visit) -> int:
    """Minute of the patient's preferred latest start (waiting counts after it)."""
    return math.floor(
        (visit.window.start_by.astimezone(UTC) - problem.opens.astimezone(UTC)) / MINUTE
    )


def nurses_on_shift(problem: DayProblem) -> list[int]:
    """For each minute of the day, how many nurses are available.

    A nurse whose shift ends at or after closing stays until the day's hard end (overtime).
    """
    end = horizon(problem)
    count = [0] * end
    for nurse in problem.nurses:
        first = max(0, _ceil_minute(problem, nurse.shift_start))
        last = (
            end if nurse.shift_end >= problem.closes else min(end, problem.minute(nurse.shift_end))
        )
        for minute in range(first, last):
            count[minute] += 1
    return count

"""Placed visits, broken rules and metrics: the values a schedule is made of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from msinfusion.scheduling.problem import ChairId, NurseTask, Visit, VisitId


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    visit_id: VisitId
    chair_id: ChairId
    start: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """One broken rule: a stable ``rule`` name, a sentence, and where it happens."""

    rule: str
    message: str
    visit_id: str | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Metrics:
    """How good a schedule is, in the objective's own terms (minutes, nurse-load).

    ``peak_nurse_load_units`` counts load units (a nurse-held task = ``nurse_ratio`` units, a
    monitored patient = 1); ``peak_nurse_load`` is the same in nurse-equivalents.
    """

    overtime_min: int
    total_wait_min: int
    peak_nurse_load_units: int
    peak_nurse_load: float
    visits_booked: int
    visits_requested: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TimedTask:
    """A nurse-held interval placed on the clock."""

    kind: str
    label: str
    start: datetime
    end: datetime


def end_of(visit: Visit, start: datetime) -> datetime:
    """When the chair is released: start plus chair time, in elapsed (UTC) time."""
    return (start.astimezone(UTC) + visit.chair_time).astimezone(start.tzinfo)


def timed_tasks(visit: Visit, start: datetime) -> tuple[TimedTask, ...]:
    """The visit's nurse-held intervals on the clock, in the start time's timezone."""
    return tuple(_timed(task, start) for task in visit.nurse_tasks)


def _timed(task: NurseTask, start: datetime) -> TimedTask:
    begin = start.astimezone(UTC) + task.offset
    return TimedTask(
        kind=task.kind.value,
        label=task.label,
        start=begin.astimezone(start.tzinfo),
        end=(begin + task.duration).astimezone(start.tzinfo),
    )


def minutes_between(earlier: datetime, later: datetime) -> float:
    return (later.astimezone(UTC) - earlier.astimezone(UTC)) / timedelta(minutes=1)

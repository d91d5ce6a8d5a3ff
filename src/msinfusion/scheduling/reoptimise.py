"""Re-plan the rest of a day when a started visit will release its chair later than booked.

Visits that have started (start at or before ``now``) are pinned where they are; a started visit
with a projected later release keeps its chair longer (its monitoring and discharge move with
the release). Every visit not yet started may move, but not into the past.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.scheduling.assignment import Assignment, end_of
from msinfusion.scheduling.problem import DayProblem, NurseTask, Pin, TaskKind, Visit
from msinfusion.scheduling.schedule import Schedule

Solve = Callable[[DayProblem], Schedule]


def replan_day(
    schedule: Schedule,
    *,
    now: datetime,
    releases: Mapping[str, datetime] | None = None,
    solve: Solve,
) -> Schedule:
    """Solve the rest of the day again with ``solve`` (a back end), started visits fixed.

    ``releases`` maps a started visit's id to its projected chair release (from the session
    engine's projected end plus observation). Raises ``InvalidSchedulingProblem`` if a release is
    given for a visit that has not started.
    """
    if now.tzinfo is None:
        raise InvalidSchedulingProblem("now must be timezone-aware", field="now")
    releases = releases or {}
    started = {a.visit_id: a for a in schedule.assignments if _utc(a.start) <= _utc(now)}
    for visit_id in releases:
        if visit_id not in started:
            raise InvalidSchedulingProblem(
                f"releases: visit '{visit_id}' has not started, so it has no projected release",
                field="releases",
            )
    visits = tuple(
        _pinned(visit, started[visit.id], releases.get(visit.id), schedule.problem.slot)
        if visit.id in started
        else replace(visit, pin=None)
        for visit in schedule.problem.visits
    )
    return solve(replace(schedule.problem, visits=visits, not_before=now))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _pinned(visit: Visit, placed: Assignment, release: datetime | None, slot: timedelta) -> Visit:
    pin = Pin(chair_id=placed.chair_id, start=placed.start)
    if release is None or _utc(release) <= _utc(end_of(visit, placed.start)):
        return replace(visit, pin=pin)
    needed = _utc(release) - _utc(placed.start)
    chair_time = -(-needed // slot) * slot
    delay = chair_time - visit.chair_time
    tasks = tuple(
        replace(task, offset=task.offset + delay) if task.kind is TaskKind.DISCHARGE else task
        for task in visit.nurse_tasks
    )
    return replace(
        visit,
        pin=pin,
        chair_time=chair_time,
        infusion_end_offset=visit.infusion_end_offset + delay,
        nurse_tasks=_sorted(tasks),
    )


def _sorted(tasks: tuple[NurseTask, ...]) -> tuple[NurseTask, ...]:
    return tuple(sorted(tasks, key=lambda task: task.offset))

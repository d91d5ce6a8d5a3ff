"""Scheduling use cases: solve a centre day, re-plan the rest of a day, draw its Gantt chart.

A day comes either as an instance (the ``msinfusion-day/1`` JSON of ``msinfusion schedule day``)
or from the store: the day's chairs and appointments (``schedule_day.build_stored_day``). Both
need ``plan_schedule``; building from the store reads patient ids, so it is audited
(``schedule.solve`` / ``schedule.replan`` on resource ``schedule`` with the date). A solved day
is a proposal: nothing is booked or moved in the store.

Solving runs outside the unit of work (no transaction is held open while CP-SAT thinks), with a
time limit of at most ``MAX_TIME_LIMIT`` (adapters may cap it lower). A day longer than
``MAX_DAY_LENGTH`` from opening to its hard end is refused: the solvers work minute by minute.
"""

from __future__ import annotations

import enum
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.day_load import HourLoad, hourly_load
from msinfusion.application.permissions import Action
from msinfusion.application.plan_apply import AppliedMove, PlannedMove, apply_moves
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.queries import day_bounds
from msinfusion.application.schedule_day import DaySettings, StoredDay, build_stored_day
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.scheduling.assignment import Assignment
from msinfusion.scheduling.backends.greedy import solve_greedy
from msinfusion.scheduling.instance_file import day_problem_from_json
from msinfusion.scheduling.problem import ChairId, DayProblem, VisitId
from msinfusion.scheduling.reoptimise import replan_day
from msinfusion.scheduling.schedule import Schedule, SolveStatus

MAX_TIME_LIMIT = timedelta(seconds=30)
MAX_DAY_LENGTH = timedelta(hours=24)
Solve = Callable[[DayProblem], Schedule]


class SolverName(enum.StrEnum):
    CPSAT = "cpsat"
    GREEDY = "greedy"


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverChoice:
    """Which back end, with its time limit (CP-SAT only) and worker threads."""

    solver: SolverName = SolverName.CPSAT
    time_limit: timedelta = timedelta(seconds=5)
    workers: int = 1

    def __post_init__(self) -> None:
        if not timedelta(0) < self.time_limit <= MAX_TIME_LIMIT:
            raise InvalidSchedulingProblem(
                f"time_limit_s must be above 0 and at most {MAX_TIME_LIMIT.total_seconds():g}",
                field="time_limit_s",
            )
        if self.workers < 1:
            raise InvalidSchedulingProblem("workers must be 1 or more", field="workers")

    def solve(self) -> Solve:
        if self.solver is SolverName.GREEDY:
            return solve_greedy
        from msinfusion.scheduling.backends.cpsat import (  # noqa: PLC0415 (loads OR-Tools)
            CpSatOptions,
            solve_cpsat,
        )

        options = CpSatOptions(time_limit=self.time_limit, num_workers=self.workers)
        return partial(solve_cpsat, options=options)


@dataclass(frozen=True, slots=True, kw_only=True)
class Booked:
    """A visit's current place (an instance's schedule to re-plan from)."""

    visit_id: str
    chair_id: str
    start: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Replanned:
    schedule: Schedule
    now: datetime
    moved: tuple[str, ...]
    """Visits whose chair or start differs from the day as it was."""


def _checked(problem: DayProblem) -> DayProblem:
    if problem.latest_end.astimezone(UTC) - problem.opens.astimezone(UTC) > MAX_DAY_LENGTH:
        raise InvalidSchedulingProblem(
            "latest_end: a day may last at most 24 hours from opening", field="latest_end"
        )
    return problem


class SchedulingUseCases:
    def __init__(self, access: AuditedAccess, catalog: Catalog) -> None:
        self._access = access
        self._catalog = catalog

    def solve_instance(
        self, actor: Actor, instance: Mapping[str, Any], choice: SolverChoice
    ) -> Schedule:
        """Solve an ``msinfusion-day/1`` instance (no stored data is read)."""
        subject = Subject(verb="schedule.solve", resource_type="schedule", resource_id="instance")
        problem = self._access.run(
            actor, Action.PLAN_SCHEDULE, subject, lambda _: self._instance(instance)
        )
        return choice.solve()(problem)

    def solve_stored(self, actor: Actor, settings: DaySettings, choice: SolverChoice) -> Schedule:
        """Solve the stored day (see ``schedule_day``)."""
        stored, _ = self._stored(actor, settings, "schedule.solve", pin_started=True)
        return choice.solve()(stored.problem)

    def replan_instance(
        self,
        actor: Actor,
        instance: Mapping[str, Any],
        booked: Sequence[Booked],
        *,
        now: datetime,
        releases: Mapping[str, datetime],
        choice: SolverChoice,
    ) -> Replanned:
        """Re-plan an instance's day from ``booked`` at ``now``; started visits stay put."""
        subject = Subject(verb="schedule.replan", resource_type="schedule", resource_id="instance")
        problem = self._access.run(
            actor, Action.PLAN_SCHEDULE, subject, lambda _: self._instance(instance)
        )
        current = _schedule(
            problem, tuple(_assignment(problem, i, b) for i, b in enumerate(booked))
        )
        return _replan(current, now, releases, choice)

    def replan_stored(
        self,
        actor: Actor,
        settings: DaySettings,
        releases: Mapping[str, datetime],
        choice: SolverChoice,
    ) -> Replanned:
        """Re-plan the stored day at the request time. A started visit's release is its
        session's projected chair release (``releases`` win over it)."""
        stored, projected = self._stored(actor, settings, "schedule.replan", pin_started=False)
        wanted = {**projected, **releases}
        # An appointment not begun whose booked start has passed (a late patient) is not
        # "started": leave it out of the day as it is, so that it is placed again.
        current = tuple(
            a for a in stored.booked if a.visit_id in stored.started or a.start > actor.at
        )
        return _replan(_schedule(stored.problem, current), actor.at, wanted, choice)

    def gantt_svg(self, actor: Actor, settings: DaySettings, choice: SolverChoice) -> str:
        """The solved stored day as an SVG Gantt chart (chairs and nurse load)."""
        from msinfusion.scheduling.gantt import plot_schedule  # noqa: PLC0415 (matplotlib)

        schedule = self.solve_stored(actor, settings, choice)
        with tempfile.TemporaryDirectory(prefix="msinfusion-gantt-") as folder:
            path = Path(folder) / "day.svg"
            plot_schedule(schedule, path)
            return path.read_text(encoding="utf-8")

    def nurse_load(self, actor: Actor, settings: DaySettings) -> tuple[HourLoad, ...]:
        """The booked day's nurse load hour by hour (``day_load``), audited as
        ``schedule.load``."""
        stored, _ = self._stored(actor, settings, "schedule.load", pin_started=False)
        return hourly_load(stored, nurses=settings.nurses)

    def apply_plan(
        self, actor: Actor, settings: DaySettings, moves: Sequence[PlannedMove]
    ) -> tuple[AppliedMove, ...]:
        """Move the day's bookings as a plan proposes, all or nothing (``plan_apply``); needs
        ``book_appointment``, audited as ``schedule.apply`` and one ``appointment.move`` each."""
        subject = Subject(
            verb="schedule.apply", resource_type="schedule", resource_id=settings.day.isoformat()
        )
        return self._access.run(
            actor,
            Action.BOOK_APPOINTMENT,
            subject,
            lambda uow: apply_moves(uow, actor, settings, moves, self._catalog),
        )

    # -- helpers --------------------------------------------------------------------------------

    def _instance(self, instance: Mapping[str, Any]) -> DayProblem:
        try:
            problem = day_problem_from_json(dict(instance), self._catalog)
        except (ArithmeticError, TypeError, ValueError):
            # The instance reader names the path of most bad values; a value of a type it
            # does not expect (e.g. a text where a number goes) still is bad input, not a 500.
            raise InvalidSchedulingProblem(
                "instance: a value has the wrong type or is out of range (docs/scheduling.md)",
                field="instance",
            ) from None
        return _checked(problem)

    def _stored(
        self, actor: Actor, settings: DaySettings, verb: str, *, pin_started: bool
    ) -> tuple[StoredDay, dict[str, datetime]]:
        """The stored day, and the projected chair release of each started visit's session."""
        subject = Subject(verb=verb, resource_type="schedule", resource_id=settings.day.isoformat())
        start, end = day_bounds(settings.day, settings.zone)

        def work(uow: UnitOfWork) -> tuple[StoredDay, dict[str, datetime]]:
            appointments = uow.appointments.list_between(start, end)
            stored = build_stored_day(
                settings,
                chairs=uow.chairs.list(),
                appointments=appointments,
                patients={a.patient_id: uow.patients.get(a.patient_id) for a in appointments},
                catalog=self._catalog,
                now=actor.at,
                pin_started=pin_started,
            )
            releases = {}
            for appointment in appointments:
                if appointment.id in stored.started and appointment.session_id is not None:
                    summary = uow.sessions.get(appointment.session_id)
                    if summary.projected_chair_release is not None:
                        releases[appointment.id] = summary.projected_chair_release
            return stored, releases

        return self._access.run(actor, Action.PLAN_SCHEDULE, subject, work)


def _schedule(problem: DayProblem, booked: tuple[Assignment, ...]) -> Schedule:
    return Schedule(
        problem=problem, assignments=booked, status=SolveStatus.FEASIBLE, solver="booked"
    )


def _assignment(problem: DayProblem, index: int, booked: Booked) -> Assignment:
    where = f"schedule[{index}]"
    if booked.visit_id not in {v.id for v in problem.visits}:
        raise InvalidSchedulingProblem(
            f"{where}.id: no visit '{booked.visit_id}' in the instance", field=f"{where}.id"
        )
    if booked.chair_id not in {c.id for c in problem.chairs}:
        raise InvalidSchedulingProblem(
            f"{where}.chair: no chair '{booked.chair_id}' in the instance", field=f"{where}.chair"
        )
    return Assignment(
        visit_id=VisitId(booked.visit_id), chair_id=ChairId(booked.chair_id), start=booked.start
    )


def _replan(
    current: Schedule, now: datetime, releases: Mapping[str, datetime], choice: SolverChoice
) -> Replanned:
    new = replan_day(current, now=now, releases=releases, solve=choice.solve())
    before = {a.visit_id: (a.chair_id, a.start.astimezone(UTC)) for a in current.assignments}
    moved = tuple(
        a.visit_id
        for a in new.assignments
        if before.get(a.visit_id) != (a.chair_id, a.start.astimezone(UTC))
    ) + tuple(v for v in before if new.assignment(v) is None)
    return Replanned(schedule=new, now=now, moved=moved)

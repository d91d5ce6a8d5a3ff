"""Several weeks at a centre: which day each visit falls on, then each day's timing.

Two stages (Turkcan et al. 2012; dossier A5 "keep the daily timing problem separate"):
1. assign a day to every visit request, inside its allowed window, on an open day, respecting
   day links (ocrelizumab and ublituximab day 1 -> day 15; alemtuzumab and methylprednisolone on
   consecutive days) and a per-day chair-time budget;
2. schedule each day with a day back end (greedy or CP-SAT).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo

from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.planning import after
from msinfusion.scheduling.assignment import Violation
from msinfusion.scheduling.problem import Chair, DayProblem, Nurse, NurseId, PatientWindow, Visit
from msinfusion.scheduling.schedule import Schedule, SolveStatus
from msinfusion.scheduling.visits import visit_from_protocol
from msinfusion.scheduling.weeks_check import check_weeks

WEEKDAYS = frozenset(range(5))


@dataclass(frozen=True, slots=True, kw_only=True)
class NurseShift:
    id: NurseId
    start: time
    end: time


@dataclass(frozen=True, slots=True, kw_only=True)
class DayTemplate:
    """What every open day looks like: hours, chairs, nurse shifts (wall-clock, in ``zone``)."""

    zone: tzinfo
    opens: time
    closes: time
    overtime: timedelta
    chairs: tuple[Chair, ...]
    shifts: tuple[NurseShift, ...]
    nurse_ratio: int = 4
    open_weekdays: frozenset[int] = WEEKDAYS

    def is_open(self, day: date) -> bool:
        return day.weekday() in self.open_weekdays

    def at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone)

    def chair_budget(self) -> timedelta:
        day = date(2000, 1, 3)
        return len(self.chairs) * (self.at(day, self.closes) - self.at(day, self.opens))

    def day_problem(self, day: date, visits: tuple[Visit, ...]) -> DayProblem:
        closes = self.at(day, self.closes)
        return DayProblem(
            day=day,
            opens=self.at(day, self.opens),
            closes=closes,
            latest_end=after(closes, self.overtime),
            chairs=self.chairs,
            nurses=tuple(
                Nurse(id=s.id, shift_start=self.at(day, s.start), shift_end=self.at(day, s.end))
                for s in self.shifts
            ),
            visits=visits,
            nurse_ratio=self.nurse_ratio,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitRequest:
    """A visit to book on some day in ``earliest_day..latest_day`` (``due_day`` preferred)."""

    id: str
    patient_id: str
    protocol_id: str
    dose_number: int
    earliest_day: date
    due_day: date
    latest_day: date
    arrival: time
    start_by: time
    course_day: int | None = None
    mandatory: bool = False

    def visit_on(self, template: DayTemplate, day: date, catalog: Catalog) -> Visit:
        """The visit on ``day``: chair time and nurse tasks from the protocol in ``catalog``."""
        protocol = catalog.get_protocol(self.protocol_id)
        window = PatientWindow(
            earliest=template.at(day, self.arrival), start_by=template.at(day, self.start_by)
        )
        return visit_from_protocol(
            protocol,
            visit_id=self.id,
            patient_id=self.patient_id,
            window=window,
            dose_number=self.dose_number,
            course_day=self.course_day,
            mandatory=self.mandatory,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DayLink:
    """``second`` falls ``min_days..max_days`` calendar days after ``first``."""

    first: str
    second: str
    min_days: int
    max_days: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeksProblem:
    """Requests to place over ``first_day..last_day``; ``catalog`` holds their protocols, so
    every stage computes the same chair time for a request."""

    first_day: date
    last_day: date
    template: DayTemplate
    requests: tuple[VisitRequest, ...]
    catalog: Catalog = field(repr=False)
    links: tuple[DayLink, ...] = ()

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise InvalidSchedulingProblem("last_day: before first_day", field="last_day")
        ids = [r.id for r in self.requests]
        if len(set(ids)) != len(ids):
            raise InvalidSchedulingProblem("requests.id: ids must be unique", field="requests.id")
        for i, r in enumerate(self.requests):
            if not r.earliest_day <= r.due_day <= r.latest_day:
                raise InvalidSchedulingProblem(
                    f"requests[{i}].due_day: need earliest_day <= due_day <= latest_day",
                    field=f"requests[{i}].due_day",
                )
        for i, link in enumerate(self.links):
            if link.first not in ids or link.second not in ids:
                raise InvalidSchedulingProblem(
                    f"links[{i}]: both visits must be requests", field=f"links[{i}]"
                )
            if not 0 < link.min_days <= link.max_days:
                raise InvalidSchedulingProblem(
                    f"links[{i}].min_days: need 0 < min_days <= max_days",
                    field=f"links[{i}].min_days",
                )

    def open_days(self) -> Iterator[date]:
        day = self.first_day
        while day <= self.last_day:
            if self.template.is_open(day):
                yield day
            day += timedelta(days=1)

    def allowed_days(self, request: VisitRequest) -> list[date]:
        return [d for d in self.open_days() if request.earliest_day <= d <= request.latest_day]

    def chair_time(self, request: VisitRequest) -> timedelta:
        return request.visit_on(self.template, request.earliest_day, self.catalog).chair_time


DayAssignment = dict[str, date]
SolveDay = Callable[[DayProblem], Schedule]


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeksPlan:
    """Stage 1's days and stage 2's day schedules; ``check()`` covers both.

    ``status`` is ``feasible`` only if ``check()`` finds nothing (``plan_weeks`` decides it from
    the check, never from the day back ends alone); ``message`` says why it is not.
    """

    problem: WeeksProblem
    day_of: tuple[tuple[str, date], ...]
    days: tuple[Schedule, ...]
    status: SolveStatus
    message: str = ""

    def check(self) -> tuple[Violation, ...]:
        return check_weeks(self)

    def booked_days(self) -> dict[str, date]:
        """The day each request was actually booked on (assigned and placed in its day)."""
        return {a.visit_id: s.problem.day for s in self.days for a in s.assignments}


def plan_weeks(
    problem: WeeksProblem, *, assign: Callable[[WeeksProblem], DayAssignment], solve_day: SolveDay
) -> WeeksPlan:
    """Assign days with ``assign`` (greedy or CP-SAT), then solve each open day.

    A linked group (day 1/day 15, consecutive days) is booked whole or not at all: when a day
    back end leaves one member unbooked, the group's other members are taken out of their days
    (a half-booked course is worse than a rebooked one). The status then comes from
    ``WeeksPlan.check()``: ``feasible`` means no violation at all.
    """
    day_of = assign(problem)
    by_day: dict[date, list[Visit]] = {d: [] for d in problem.open_days()}
    linked = {k.first for k in problem.links} | {k.second for k in problem.links}
    # linked visits book first (greedy booking order): a broken day-1/day-15 pair costs most
    ordered = sorted(problem.requests, key=lambda r: r.id not in linked)
    for request in ordered:
        if request.id in day_of:
            by_day[day_of[request.id]].append(
                request.visit_on(problem.template, day_of[request.id], problem.catalog)
            )
    days = tuple(
        solve_day(problem.template.day_problem(day, tuple(visits)))
        for day, visits in by_day.items()
    )
    days = _unbook_broken_groups(problem, days)
    draft = WeeksPlan(
        problem=problem, day_of=tuple(sorted(day_of.items())), days=days, status=SolveStatus.UNKNOWN
    )
    status, message = _verdict(draft)
    return replace(draft, status=status, message=message)


def _verdict(plan: WeeksPlan) -> tuple[SolveStatus, str]:
    """The plan's status and message, decided by its own check."""
    statuses = {s.status for s in plan.days}
    if SolveStatus.INFEASIBLE in statuses:
        return SolveStatus.INFEASIBLE, "a day cannot book its mandatory visits"
    violations = plan.check()
    if violations:
        rules = ", ".join(sorted({v.rule for v in violations}))
        return SolveStatus.UNKNOWN, f"{len(violations)} violations ({rules})"
    if SolveStatus.UNKNOWN in statuses:
        return SolveStatus.UNKNOWN, "a day back end proved nothing"
    return SolveStatus.FEASIBLE, ""


def _link_groups(problem: WeeksProblem) -> list[set[str]]:
    """Request ids joined by day links (connected components), linked requests only."""
    groups: list[set[str]] = []
    for link in problem.links:
        touching = [g for g in groups if link.first in g or link.second in g]
        merged = {link.first, link.second}.union(*touching)
        groups = [g for g in groups if g not in touching] + [merged]
    return groups


def _unbook_broken_groups(
    problem: WeeksProblem, days: tuple[Schedule, ...]
) -> tuple[Schedule, ...]:
    """Take out of their days the booked members of every linked group not booked whole.

    Removing a visit never breaks a day's hard constraints (chairs and nurse load only free
    up), so each day stays feasible; mandatory and started visits are never taken out.
    """
    booked = {a.visit_id for s in days for a in s.assignments}
    drop: set[str] = set()
    for group in _link_groups(problem):
        if group & booked and not group <= booked:
            drop |= group & booked
    if not drop:
        return days
    keep_anyway = {v.id for s in days for v in s.problem.visits if v.mandatory or v.pin is not None}
    drop -= keep_anyway
    out: list[Schedule] = []
    for schedule in days:
        kept = tuple(a for a in schedule.assignments if a.visit_id not in drop)
        if len(kept) == len(schedule.assignments):
            out.append(schedule)
            continue
        removed = len(schedule.assignments) - len(kept)
        out.append(
            replace(
                schedule,
                assignments=kept,
                status=SolveStatus.FEASIBLE
                if schedule.status is SolveStatus.OPTIMAL
                else schedule.status,
                bound_gap=None,  # the day's proof was for the visits it booked
                level_gaps=(),
                message=f"{removed} linked visits unbooked: their course could not be booked whole",
            )
        )
    return tuple(out)

"""A centre day as validated, frozen data: chairs, nurses, opening hours and visits.

Time is a 5-minute grid from the day's opening (dossier A5: "5- or 15-minute integer time is the
sweet spot"): a visit's chair time and the offsets of its nurse-held tasks are whole slots, and a
chair start is ``opens + k * slot``. Visits that have already started (``pin``) keep their real,
possibly off-grid, start.

Nurse model (dossier A1, Hesaraki 2019/2020, Tran 2022): a nurse is held *exclusively* for each
nurse task of a visit (set-up and IV start, each premedication, starting the drug and every rate
change, discharge) and otherwise *monitors* at most ``nurse_ratio`` infusing patients at once
(default 4, dossier A4 "use 1:4 concurrent as default and make it a parameter").
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NewType

from msinfusion.errors import InvalidSchedulingProblem

ChairId = NewType("ChairId", str)
NurseId = NewType("NurseId", str)
VisitId = NewType("VisitId", str)
PatientId = NewType("PatientId", str)

SLOT = timedelta(minutes=5)
DEFAULT_NURSE_RATIO = 4


class TaskKind(enum.StrEnum):
    """What holds a nurse exclusively for a few minutes of a visit."""

    SETUP = "setup"
    PREMEDICATION = "premedication"
    INFUSION_START = "infusion_start"
    RATE_CHANGE = "rate_change"
    DISCHARGE = "discharge"


@dataclass(frozen=True, slots=True, kw_only=True)
class NurseTask:
    """A nurse-held interval: ``offset`` after the chair start, for ``duration``."""

    kind: TaskKind
    label: str
    offset: timedelta
    duration: timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class Chair:
    """A treatment chair; ``attributes`` (e.g. ``bed``, ``isolation``) restrict who may use it."""

    id: ChairId
    attributes: frozenset[str] = frozenset()

    def can_host(self, visit: Visit) -> bool:
        return visit.requires <= self.attributes


@dataclass(frozen=True, slots=True, kw_only=True)
class Nurse:
    """A nurse on shift from ``shift_start`` to ``shift_end``.

    A nurse still on shift at closing time stays until the last patient leaves (that is the
    overtime the objective minimises); others leave at ``shift_end``.
    """

    id: NurseId
    shift_start: datetime
    shift_end: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientWindow:
    """The patient can be in the chair from ``earliest`` and wants to start by ``start_by``.

    ``earliest`` is hard (the patient is not there before); starting after ``start_by`` is
    waiting, which the objective minimises.
    """

    earliest: datetime
    start_by: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    """A visit already started on ``chair_id`` at ``start``; re-planning never moves it."""

    chair_id: ChairId
    start: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Visit:
    """One infusion visit; its shape comes from the infusion plan (``scheduling.visits``).

    ``infusion_offset`` is the premedication lead (drug start after chair start),
    ``infusion_end_offset`` the end of the drug; chair time after it is observation.
    ``drug_ready_at`` is when pharmacy has the drug prepared (None: ready whenever needed).
    The order of ``DayProblem.visits`` is the booking order the greedy back end follows.
    """

    id: VisitId
    patient_id: PatientId
    protocol_id: str
    dose_number: int
    chair_time: timedelta
    infusion_offset: timedelta
    infusion_end_offset: timedelta
    nurse_tasks: tuple[NurseTask, ...]
    window: PatientWindow
    drug_ready_at: datetime | None = None
    requires: frozenset[str] = frozenset()
    mandatory: bool = False
    pin: Pin | None = None
    course_day: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DayProblem:
    """One centre day: chairs, nurses, opening hours, visits, and the nurse ratio.

    ``latest_end`` is the hard end of the day (closing plus the overtime the centre tolerates);
    ``not_before`` (re-planning) is the current time: no visit that has not started may start
    earlier, and every pinned (started) visit started at or before it.
    """

    day: date
    opens: datetime
    closes: datetime
    latest_end: datetime
    chairs: tuple[Chair, ...]
    nurses: tuple[Nurse, ...]
    visits: tuple[Visit, ...]
    nurse_ratio: int = DEFAULT_NURSE_RATIO
    observation_monitored: bool = True
    not_before: datetime | None = None
    slot: timedelta = field(default=SLOT)

    def __post_init__(self) -> None:
        validate_day_problem(self)

    def visit(self, visit_id: str) -> Visit:
        for visit in self.visits:
            if visit.id == visit_id:
                return visit
        raise InvalidSchedulingProblem(f"no visit with id '{visit_id}'", field="visit_id")

    def chair(self, chair_id: str) -> Chair:
        for chair in self.chairs:
            if chair.id == chair_id:
                return chair
        raise InvalidSchedulingProblem(f"no chair with id '{chair_id}'", field="chair_id")

    def minute(self, moment: datetime) -> int:
        """Whole minutes from opening to ``moment`` (rounded down)."""
        return int((moment.astimezone(UTC) - self.opens.astimezone(UTC)) // timedelta(minutes=1))

    def at_minute(self, minute: int) -> datetime:
        """The moment ``minute`` minutes after opening, in the opening time's timezone."""
        return (self.opens.astimezone(UTC) + timedelta(minutes=minute)).astimezone(
            self.opens.tzinfo
        )


def _bad(field_name: str, reason: str) -> InvalidSchedulingProblem:
    return InvalidSchedulingProblem(f"{field_name}: {reason}", field=field_name)


def _aware(value: datetime, field_name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise _bad(field_name, f"{value.isoformat()} must be timezone-aware")


def _unique(ids: Iterable[str], field_name: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if not item:
            raise _bad(field_name, "an id must not be empty")
        if item in seen:
            raise _bad(field_name, f"id '{item}' appears twice")
        seen.add(item)


def _on_grid(value: timedelta, slot: timedelta, field_name: str) -> None:
    if value % slot:
        raise _bad(field_name, f"{value} is not a whole number of {slot} slots")


def validate_day_problem(problem: DayProblem) -> None:
    """Raise ``InvalidSchedulingProblem`` naming the first field that is wrong."""
    for name in ("opens", "closes", "latest_end"):
        _aware(getattr(problem, name), name)
    if problem.opens.second or problem.opens.microsecond:
        raise _bad("opens", "opening time must be on a whole minute")
    if problem.slot <= timedelta(0) or problem.slot % timedelta(minutes=1):
        raise _bad("slot", f"{problem.slot} must be a positive whole number of minutes")
    if not problem.opens < problem.closes <= problem.latest_end:
        raise _bad("closes", "opening hours need opens < closes <= latest_end")
    if problem.nurse_ratio < 1:
        raise _bad("nurse_ratio", f"{problem.nurse_ratio} must be 1 or more")
    if not problem.chairs:
        raise _bad("chairs", "a day needs at least one chair")
    _unique((c.id for c in problem.chairs), "chairs.id")
    _unique((n.id for n in problem.nurses), "nurses.id")
    _unique((v.id for v in problem.visits), "visits.id")
    for i, nurse in enumerate(problem.nurses):
        _aware(nurse.shift_start, f"nurses[{i}].shift_start")
        _aware(nurse.shift_end, f"nurses[{i}].shift_end")
        if nurse.shift_start >= nurse.shift_end:
            raise _bad(f"nurses[{i}].shift_end", "a shift must end after it starts")
    if problem.not_before is not None:
        _aware(problem.not_before, "not_before")
    for i, visit in enumerate(problem.visits):
        _validate_visit(problem, visit, f"visits[{i}]")


def _validate_visit(problem: DayProblem, visit: Visit, where: str) -> None:
    slot = problem.slot
    if visit.dose_number < 1:
        raise _bad(f"{where}.dose_number", f"{visit.dose_number} must be 1 or more")
    if visit.chair_time <= timedelta(0):
        raise _bad(f"{where}.chair_time", "must be positive")
    _on_grid(visit.chair_time, slot, f"{where}.chair_time")
    if not timedelta(0) <= visit.infusion_offset < visit.infusion_end_offset <= visit.chair_time:
        raise _bad(
            f"{where}.infusion_offset",
            "need 0 <= infusion_offset < infusion_end_offset <= chair_time",
        )
    _on_grid(visit.infusion_offset, slot, f"{where}.infusion_offset")
    _on_grid(visit.infusion_end_offset, slot, f"{where}.infusion_end_offset")
    for j, task in enumerate(visit.nurse_tasks):
        name = f"{where}.nurse_tasks[{j}]"
        _on_grid(task.offset, slot, f"{name}.offset")
        _on_grid(task.duration, slot, f"{name}.duration")
        if task.duration <= timedelta(0) or task.offset < timedelta(0):
            raise _bad(f"{name}.duration", "needs offset >= 0 and a positive duration")
        if task.offset + task.duration > visit.chair_time:
            raise _bad(f"{name}.offset", "the task must end within the chair time")
    _aware(visit.window.earliest, f"{where}.window.earliest")
    _aware(visit.window.start_by, f"{where}.window.start_by")
    if visit.window.start_by < visit.window.earliest:
        raise _bad(f"{where}.window.start_by", "must not be before window.earliest")
    if visit.drug_ready_at is not None:
        _aware(visit.drug_ready_at, f"{where}.drug_ready_at")
    if not any(chair.can_host(visit) for chair in problem.chairs):
        wanted = ", ".join(sorted(visit.requires))
        raise _bad(f"{where}.requires", f"no chair has every attribute of [{wanted}]")
    if visit.pin is not None:
        _validate_pin(problem, visit, where)


def _validate_pin(problem: DayProblem, visit: Visit, where: str) -> None:
    assert visit.pin is not None
    pin = visit.pin
    _aware(pin.start, f"{where}.pin.start")
    chair = next((c for c in problem.chairs if c.id == pin.chair_id), None)
    if chair is None:
        raise _bad(f"{where}.pin.chair_id", f"no chair with id '{pin.chair_id}'")
    if not chair.can_host(visit):
        raise _bad(f"{where}.pin.chair_id", f"chair '{pin.chair_id}' lacks a required attribute")
    if pin.start < problem.opens:
        raise _bad(f"{where}.pin.start", "a visit cannot have started before opening")
    if problem.not_before is None:
        raise _bad("not_before", "a day with started (pinned) visits needs the current time")
    if pin.start > problem.not_before:
        raise _bad(f"{where}.pin.start", "a pinned visit has started, so not after not_before")

"""A centre day as a scheduling problem, built from stored chairs and appointments.

What the store does not hold is site configuration given with the request (``DaySettings``):
opening hours, tolerated overtime, how many nurses are on shift, the nurse ratio, and how much
earlier than booked a patient could come (``flex``). Each stored appointment (not cancelled)
becomes a visit shaped by its protocol's infusion plan (``scheduling.visits``) for its dose
number and the patient's measurements; its window is ``[booked - flex, booked]``: starting later
than booked is waiting, which the solver minimises. Visit ids are appointment ids.

A day under way (the request time between opening and the day's hard end) fixes what has begun:
appointments checked in, in progress or completed are *started* and keep their chair and booked
start; nothing else may start before the request time. A day not under way (future or past) is
solved whole, as a what-if.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from msinfusion.application.records import Appointment, AppointmentStatus, Patient
from msinfusion.application.records import Chair as StoredChair
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.scheduling.assignment import Assignment
from msinfusion.scheduling.check import load_by_minute
from msinfusion.scheduling.problem import (
    DEFAULT_NURSE_RATIO,
    Chair,
    ChairId,
    DayProblem,
    Nurse,
    NurseId,
    PatientWindow,
    Pin,
    Visit,
    VisitId,
)
from msinfusion.scheduling.visits import visit_from_protocol

STARTED = frozenset(
    {AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED}
)
MAX_NURSES = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class DaySettings:
    """Site configuration for one day; the defaults (08:00-18:00, 2 h overtime) are examples a
    centre overrides, not clinical values."""

    day: date
    zone: tzinfo
    nurses: int
    opens: time = time(8, 0)
    closes: time = time(18, 0)
    overtime: timedelta = timedelta(hours=2)
    nurse_ratio: int = DEFAULT_NURSE_RATIO
    flex: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if not 1 <= self.nurses <= MAX_NURSES:
            raise InvalidSchedulingProblem(f"nurses must be 1 to {MAX_NURSES}", field="nurses")
        if self.opens >= self.closes:
            raise InvalidSchedulingProblem("opens must be before closes", field="closes")
        if self.overtime < timedelta(0) or self.flex < timedelta(0):
            raise InvalidSchedulingProblem("overtime and flex must be >= 0", field="overtime_min")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredDay:
    """The problem and the day as booked (``booked``: every stored appointment's chair and
    start; ``started``: the ids of appointments that have begun)."""

    problem: DayProblem
    booked: tuple[Assignment, ...]
    started: frozenset[str]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def is_started(appointment: Appointment) -> bool:
    return appointment.status in STARTED or appointment.session_id is not None


def build_stored_day(
    settings: DaySettings,
    *,
    chairs: Sequence[StoredChair],
    appointments: Sequence[Appointment],
    patients: Mapping[str, Patient],
    catalog: Catalog,
    now: datetime,
    pin_started: bool = True,
) -> StoredDay:
    """The day's problem; ``pin_started=False`` leaves pins to the caller (``replan_day``)."""
    live = [a for a in appointments if a.status is not AppointmentStatus.CANCELLED]
    configured = datetime.combine(settings.day, settings.opens, tzinfo=settings.zone)
    opens = min([configured] + [_floor_minute(a.starts_at.astimezone(settings.zone)) for a in live])
    closes = datetime.combine(settings.day, settings.closes, tzinfo=settings.zone)
    latest_end = (_utc(closes) + settings.overtime).astimezone(settings.zone)
    under_way = _utc(opens) <= _utc(now) < _utc(latest_end)
    started = frozenset(a.id for a in live if under_way and is_started(a))
    used = {a.chair_id for a in live if a.id in started}
    problem_chairs = tuple(
        Chair(id=ChairId(c.id), attributes=frozenset(c.attributes))
        for c in chairs
        if c.active or c.id in used
    )
    visits = tuple(
        _visit(
            a,
            patients[a.patient_id],
            catalog,
            opens,
            settings.flex,
            pin_at=now if a.id in started and pin_started else None,
        )
        for a in live
    )
    problem = DayProblem(
        day=settings.day,
        opens=opens,
        closes=closes,
        latest_end=latest_end,
        chairs=problem_chairs,
        nurses=tuple(
            Nurse(id=NurseId(f"nurse-{i}"), shift_start=opens, shift_end=closes)
            for i in range(1, settings.nurses + 1)
        ),
        visits=visits,
        nurse_ratio=settings.nurse_ratio,
        not_before=now if under_way and pin_started else None,
    )
    booked = tuple(
        Assignment(
            visit_id=VisitId(a.id),
            chair_id=ChairId(a.chair_id),
            start=_started_at(a, now) if a.id in started else a.starts_at,
        )
        for a in live
    )
    return StoredDay(problem=problem, booked=booked, started=started)


def _started_at(appointment: Appointment, now: datetime) -> datetime:
    """A started visit's chair start: as booked, but not after now (checked in early)."""
    return min(_utc(appointment.starts_at), _utc(now)).astimezone(appointment.starts_at.tzinfo)


def _visit(
    appointment: Appointment,
    patient: Patient,
    catalog: Catalog,
    opens: datetime,
    flex: timedelta,
    *,
    pin_at: datetime | None,
) -> Visit:
    """The appointment's visit; ``pin_at`` (now) pins a started one at its chair and start."""
    booked = appointment.starts_at
    earliest = max(_utc(opens), _utc(booked) - flex)
    window = PatientWindow(earliest=earliest, start_by=max(earliest, _utc(booked)))
    visit = visit_from_protocol(
        catalog.get_protocol(appointment.protocol_id),
        visit_id=appointment.id,
        patient_id=appointment.patient_id,
        window=window,
        dose_number=appointment.dose_number,
        height_cm=patient.height_cm,
        weight_kg=patient.weight_kg,
    )
    if pin_at is None:
        return visit
    start = _started_at(appointment, pin_at)
    return replace(visit, pin=Pin(chair_id=ChairId(appointment.chair_id), start=start))


@dataclass(frozen=True, slots=True, kw_only=True)
class NurseShortfall:
    """Why a day has no plan: the visits already started need more nurse time at ``at`` than
    the nurses on shift give, whatever the solver does with the rest.

    Load is in nurse-load units (``scheduling.check``): a visit in a nurse-held task takes a
    whole nurse (``nurse_ratio`` units), an infusing one is watched (1 unit).
    ``needed_nurses`` is the fewest nurses on shift that the started visits alone need all day.
    """

    at: datetime
    load_units: int
    capacity_units: int
    nurses: int
    nurse_ratio: int
    held: tuple[str, ...]
    """Ids of the started visits in a nurse-held task at ``at``."""
    watched: tuple[str, ...]
    """Ids of the started visits infusing (watched) at ``at``."""
    needed_nurses: int


def _nurses_at(problem: DayProblem, moment: datetime) -> int:
    """Nurses on shift in the minute from ``moment`` (one whose shift ends at or after closing
    stays to the day's hard end, as the solvers and ``check`` count them)."""
    count = 0
    for nurse in problem.nurses:
        end = (
            problem.latest_end if _utc(nurse.shift_end) >= _utc(problem.closes) else nurse.shift_end
        )
        if _utc(nurse.shift_start) <= moment and moment + timedelta(minutes=1) <= _utc(end):
            count += 1
    return count


def explain_nurse_shortfall(problem: DayProblem) -> NurseShortfall | None:
    """The first minute (from the day's ``not_before`` on, if any; else earlier) where the
    started (pinned) visits alone exceed the nurses on shift, or None when they fit (then the
    day is infeasible for another reason, or not at all)."""
    pinned = [
        (visit, Assignment(visit_id=visit.id, chair_id=visit.pin.chair_id, start=visit.pin.start))
        for visit in problem.visits
        if visit.pin is not None
    ]
    if not pinned:
        return None
    each = {visit.id: load_by_minute(problem, [(visit, placed)]) for visit, placed in pinned}
    total = load_by_minute(problem, pinned)
    ratio = problem.nurse_ratio
    needed = max(math.ceil(units / ratio) for units in total.values()) if total else 0
    since = None if problem.not_before is None else _utc(problem.not_before)
    # From now on first (what still can be felt), then the modelled past of the started visits.
    ordered = sorted(total.items(), key=lambda item: (since is not None and item[0] < since, item))
    for moment, units in ordered:
        nurses = _nurses_at(problem, moment)
        if units <= ratio * nurses:
            continue
        now = {v: load[moment] for v, load in each.items() if load.get(moment, 0) > 0}
        held = tuple(v for v, units_now in now.items() if ratio > 1 and units_now >= ratio)
        return NurseShortfall(
            at=moment,
            load_units=units,
            capacity_units=ratio * nurses,
            nurses=nurses,
            nurse_ratio=ratio,
            held=held,
            watched=tuple(v for v in now if v not in held),
            needed_nurses=max(needed, nurses + 1),
        )
    return None

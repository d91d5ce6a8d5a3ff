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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from msinfusion.application.records import Appointment, AppointmentStatus, Patient
from msinfusion.application.records import Chair as StoredChair
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidSchedulingProblem
from msinfusion.scheduling.assignment import Assignment
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

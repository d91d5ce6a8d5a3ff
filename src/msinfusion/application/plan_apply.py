"""Apply an optimised day plan to the day's bookings: each move checked against what is stored.

The page proposes moves (an appointment from its chair and start *as the planner saw them* to a
new chair and start). Applying them is one transaction: every move is refused unless its
appointment is still booked as it was seen (someone may have rescheduled it meanwhile) and not
begun (checked in, in progress, a session opened: it keeps its chair and time); then the day as
it would be is checked again by the scheduling core's independent check (``check_schedule``:
no two visits in a chair at once, nurse load within the nurses on duty). A refusal changes
nothing. Each moved appointment gets its own ``appointment.move`` audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from msinfusion.application.audit import Actor, Subject, entry
from msinfusion.application.booking_rules import LIVE_BOOKING
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.queries import day_bounds
from msinfusion.application.records import Appointment, AppointmentStatus
from msinfusion.application.schedule_day import DaySettings, build_stored_day, is_started
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidCommand, RecordNotFound
from msinfusion.planning import after
from msinfusion.scheduling.check import check_schedule

CHECKED = frozenset({"chair-overlap", "nurse-capacity", "chair-attributes", "after-hard-end"})
"""The rules of ``check_schedule`` a moved day must keep. The others judge a plan against the
windows it was solved in (the booked starts, the slot grid), which applying it redefines."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedMove:
    """One change of the plan: ``appointment_id`` from (``chair_before``, ``starts_before``)
    to (``chair_id``, ``starts_at``)."""

    appointment_id: str
    chair_before: str
    starts_before: datetime
    chair_id: str
    starts_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedMove:
    """What changed: the appointment before and after."""

    before: Appointment
    after: Appointment


def _same_moment(a: datetime, b: datetime) -> bool:
    return a.astimezone(UTC) == b.astimezone(UTC)


def _moved(uow: UnitOfWork, index: int, move: PlannedMove, settings: DaySettings) -> Appointment:
    field = f"moves[{index}]"
    try:
        current = uow.appointments.get(move.appointment_id)
    except RecordNotFound:
        raise InvalidCommand(
            f"{field}: appointment {move.appointment_id} no longer exists: plan again", field=field
        ) from None
    if is_started(current) or current.status is not AppointmentStatus.BOOKED:
        raise InvalidCommand(
            f"{field}: appointment {current.id} is {current.status.value}: a visit begun or "
            "closed keeps its chair and time; plan again",
            field=field,
        )
    if current.chair_id != move.chair_before or not _same_moment(
        current.starts_at, move.starts_before
    ):
        raise InvalidCommand(
            f"{field}: appointment {current.id} was changed after the plan was made: plan again",
            field=field,
        )
    if move.starts_at.astimezone(settings.zone).date() != settings.day:
        raise InvalidCommand(f"{field}: the new start is not on {settings.day}", field=field)
    return replace(
        current,
        chair_id=move.chair_id,
        starts_at=move.starts_at,
        ends_at=after(move.starts_at, current.ends_at - current.starts_at),
    )


def apply_moves(
    uow: UnitOfWork,
    actor: Actor,
    settings: DaySettings,
    moves: Sequence[PlannedMove],
    catalog: Catalog,
) -> tuple[AppliedMove, ...]:
    """Check and store ``moves`` in the caller's transaction (see the module docstring)."""
    if not moves:
        raise InvalidCommand("moves: the plan changes no booking", field="moves")
    if len({m.appointment_id for m in moves}) != len(moves):
        raise InvalidCommand("moves: an appointment is moved twice", field="moves")
    moved = {m.appointment_id: _moved(uow, i, m, settings) for i, m in enumerate(moves)}
    start, end = day_bounds(settings.day, settings.zone)
    day = [moved.get(a.id, a) for a in uow.appointments.list_between(start, end)]
    live = [a for a in day if a.status in LIVE_BOOKING]
    stored = build_stored_day(
        settings,
        chairs=uow.chairs.list(),
        appointments=live,
        patients={a.patient_id: uow.patients.get(a.patient_id) for a in live},
        catalog=catalog,
        now=actor.at,
        pin_started=False,
    )
    broken = [v for v in check_schedule(stored.problem, stored.booked) if v.rule in CHECKED]
    if broken:
        raise InvalidCommand(
            f"moves: the day as moved breaks {broken[0].rule}: {broken[0].message}; plan again",
            field="moves",
        )
    applied = []
    for move in moves:
        before = uow.appointments.get(move.appointment_id)
        after_move = moved[move.appointment_id]
        uow.appointments.update(after_move)
        subject = Subject(
            verb="appointment.move", resource_type="appointment", resource_id=before.id
        )
        uow.audit.record(entry(actor, subject, "ok", at=actor.at))
        applied.append(AppliedMove(before=before, after=after_move))
    return tuple(applied)

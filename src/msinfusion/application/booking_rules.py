"""Booking rules shared by a single booking, a series and an applied day plan: one live booking
per dose of an order, no patient in two places at once, one visit per chair at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import Appointment, AppointmentStatus
from msinfusion.errors import DuplicateRecord
from msinfusion.planning import after

LIVE_BOOKING = frozenset(
    {AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesDose:
    """One dose of a series booking: which dose, by which protocol, in which chair, when."""

    dose_number: int
    protocol_id: str
    chair_id: str
    starts_at: datetime


def check_not_double_booked(uow: UnitOfWork, booking: Appointment) -> None:
    """Refuse a second live booking of the same dose of an order, or of the same patient at
    an overlapping time (another chair included)."""
    for other in uow.appointments.list_for_patient(booking.patient_id):
        if other.id == booking.id or other.status not in LIVE_BOOKING:
            continue
        if (
            booking.order_id is not None
            and other.order_id == booking.order_id
            and other.dose_number == booking.dose_number
        ):
            raise DuplicateRecord(
                f"dose {booking.dose_number} of this order is already booked for "
                f"{other.starts_at.isoformat()} (appointment {other.id})",
                field="dose_number",
            )
        if other.starts_at < booking.ends_at and booking.starts_at < other.ends_at:
            raise DuplicateRecord(
                f"the patient is already booked from {other.starts_at.isoformat()} to "
                f"{other.ends_at.isoformat()} (appointment {other.id})",
                field="starts_at",
            )


def check_chair_free(
    uow: UnitOfWork, chair_id: str, start: datetime, end: datetime, booking_id: str
) -> None:
    """Refuse an overlap with another live booking of the same chair."""
    for other in uow.appointments.list_between(
        after(start, -timedelta(days=2)), after(end, timedelta(days=1))
    ):
        if other.id == booking_id or other.chair_id != chair_id:
            continue
        if other.status is AppointmentStatus.CANCELLED:
            continue
        if other.starts_at < end and start < other.ends_at:
            raise DuplicateRecord(
                f"chair {chair_id} is booked from {other.starts_at.isoformat()} to "
                f"{other.ends_at.isoformat()}",
                field="starts_at",
            )

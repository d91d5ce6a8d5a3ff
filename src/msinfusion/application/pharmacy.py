"""Pharmacy verification: the day's queue, verify or return a dose, record the bag, check it.

Every step is a pharmacist's (the matrix's ``verify_dose``), in one unit of work with its audit
entry (``pharmacy.verify``, ``pharmacy.return``, ``pharmacy.prepare``, ``pharmacy.check``);
a refusal is audited too. The second-person check is made by *another user*, who signs with their
own user name and password on the pharmacist's screen: the adapter authenticates them
(``Accounts.login``, itself audited as ``auth.login``) and passes their principal here, and the
check is refused when that user prepared the bag (field ``checked_by``). No browser session is
opened for the checker.

What the pharmacist checks is read, not decided, here: the gates come from
``ClinicalRecords.dose_gates`` and the labs from the clinical record (``pharmacy_queue``). A
dose is verified only under an active order and only once (a returned dose may be verified
again after the prescriber changed the order: a new row, the bag gets a new id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation

from msinfusion.application.accounts import Principal
from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.infusion_record import user_names
from msinfusion.application.permissions import Action, is_allowed
from msinfusion.application.pharmacy_queue import PharmacyDay, day_queue, queued_dose
from msinfusion.application.pharmacy_records import (
    DosePreparation,
    PreparationStatus,
    current_preparation,
)
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.queries import day_bounds
from msinfusion.application.reaction_history import reaction_history, require_not_contraindicated
from msinfusion.application.records import Appointment, AppointmentStatus
from msinfusion.application.session_streams import SessionStreams
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidCommand, PermissionDenied

"""Who verifies, returns, prepares and second-checks doses. Reading the queue is open to the
clinical readers (``read_appointment``). Kept here until ``permissions.MATRIX`` has a
``verify_dose`` action (it is the one deny-by-default check of this module)."""

VERIFY_ACTION = Action.VERIFY_DOSE.value
CLOCK_TOLERANCE = timedelta(minutes=5)
"""A preparation time may be at most this far ahead of the server clock."""
MAX_TEXT = 200


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def _text(value: str | None, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise InvalidCommand(f"{field} is required", field=field)
    if len(cleaned) > limit:
        raise InvalidCommand(f"{field} must be at most {limit} characters", field=field)
    return cleaned


def parse_volume(raw: str | Decimal | None) -> Decimal:
    """A prepared volume in mL: a positive number.

    >>> parse_volume("250")
    Decimal('250')
    >>> parse_volume("0")
    Traceback (most recent call last):
    ...
    msinfusion.errors.InvalidCommand: prepared_volume_ml must be a positive number of mL, got '0'
    """
    try:
        volume = raw if isinstance(raw, Decimal) else Decimal(str(raw or "").strip())
    except InvalidOperation:
        volume = Decimal(0)
    if not volume.is_finite() or volume <= 0 or volume > 5000:
        raise InvalidCommand(
            f"prepared_volume_ml must be a positive number of mL, got {str(raw)!r}",
            field="prepared_volume_ml",
        )
    return volume


class Pharmacy:
    """The pharmacy's use cases (see the module docstring)."""

    def __init__(
        self,
        access: AuditedAccess,
        clinical: ClinicalRecords,
        catalog: Catalog,
        *,
        centre_tz: tzinfo,
        new_id: Callable[[str], str] = _new_id,
        streams: SessionStreams | None = None,
    ) -> None:
        self._streams = streams
        """Reads the patient's stored sessions: a therapy their history contraindicates is
        never verified (``therapy-contraindicated``)."""
        self._access = access
        self._clinical = clinical
        self._catalog = catalog
        self._tz = centre_tz
        self._new_id = new_id

    # -- reading -----------------------------------------------------------------------------

    def list_queue(self, actor: Actor, day: date) -> PharmacyDay:
        """The centre day's doses with order, protocol version, gates, labs and the pharmacy's
        rows (audited as ``pharmacy.queue``)."""
        start, end = day_bounds(day, self._tz)
        subject = Subject(verb="pharmacy.queue", resource_type="appointment")

        def work(uow: UnitOfWork) -> PharmacyDay:
            found = uow.appointments.list_between(start, end)
            doses = day_queue(uow, self._clinical, self._catalog, found, day, streams=self._streams)
            return PharmacyDay(day=day, doses=tuple(doses), names=user_names(uow))

        return self._access.run(actor, Action.READ_APPOINTMENT, subject, work)

    def get_preparation(self, actor: Actor, preparation_id: str) -> PharmacyDay:
        """The dose a preparation belongs to (for the bag label; its one dose), audited."""
        subject = Subject(
            verb="pharmacy.read", resource_type="preparation", resource_id=preparation_id
        )

        def work(uow: UnitOfWork) -> PharmacyDay:
            row = uow.preparations.get(preparation_id)
            appointment = uow.appointments.get(row.appointment_id)
            day = self._local_day(actor.at)
            dose = queued_dose(
                uow, self._clinical, self._catalog, appointment, day, streams=self._streams
            )
            return PharmacyDay(day=day, doses=(dose,), names=user_names(uow))

        return self._access.run(actor, Action.READ_APPOINTMENT, subject, work)

    # -- deciding ----------------------------------------------------------------------------

    def verify(self, actor: Actor, appointment_id: str) -> DosePreparation:
        """Verify the appointment's dose (order, dose, protocol version, gates, labs read)."""
        subject = Subject(
            verb="pharmacy.verify", resource_type="appointment", resource_id=appointment_id
        )
        self._authorize(actor, subject)
        preparation_id = self._new_id("prep")

        def work(uow: UnitOfWork) -> DosePreparation:
            appointment = self._open_appointment(uow, appointment_id)
            current = current_preparation(uow.preparations.list_for_appointment(appointment_id))
            if current is not None and current.status is not PreparationStatus.RETURNED:
                raise InvalidCommand(
                    f"this dose is already {current.status.value} (bag {current.id})",
                    field="appointment_id",
                )
            order = None if appointment.order_id is None else uow.orders.get(appointment.order_id)
            if order is None or not order.active:
                raise InvalidCommand(
                    "a dose is verified only under an active physician's order: return it to "
                    "the prescriber instead",
                    field="order_id",
                )
            if self._streams is not None:
                patient = uow.patients.get(appointment.patient_id)
                protocol = self._catalog.get_protocol(appointment.protocol_id)
                history = reaction_history(uow, self._streams, patient)
                require_not_contraindicated(history, protocol.therapy_id)
            row = self._row(appointment, preparation_id, PreparationStatus.VERIFIED)
            row = replace(row, verified_by=actor.user_id, verified_at=actor.at)
            uow.preparations.add(row)
            return row

        return self._access.run(actor, Action.READ_APPOINTMENT, subject, work)

    def return_dose(self, actor: Actor, appointment_id: str, *, reason: str) -> DosePreparation:
        """Return the dose to the prescriber with a reason; a bag already made is void."""
        subject = Subject(
            verb="pharmacy.return", resource_type="appointment", resource_id=appointment_id
        )
        self._authorize(actor, subject)
        preparation_id = self._new_id("prep")

        def work(uow: UnitOfWork) -> DosePreparation:
            why = _text(reason, "reason", limit=1000)
            appointment = self._open_appointment(uow, appointment_id)
            current = current_preparation(uow.preparations.list_for_appointment(appointment_id))
            base = (
                current
                if current is not None and current.status is not PreparationStatus.RETURNED
                else self._row(appointment, preparation_id, PreparationStatus.RETURNED)
            )
            row = replace(
                base,
                status=PreparationStatus.RETURNED,
                returned_by=actor.user_id,
                returned_at=actor.at,
                return_reason=why,
            )
            if base is current:
                uow.preparations.update(row)
            else:
                uow.preparations.add(row)
            return row

        return self._access.run(actor, Action.READ_APPOINTMENT, subject, work)

    def record_preparation(
        self,
        actor: Actor,
        preparation_id: str,
        *,
        product: str,
        lot: str,
        expiry: date,
        prepared_volume_ml: Decimal,
        diluent: str,
        prepared_at: datetime | None = None,
    ) -> DosePreparation:
        """Record the bag made for a verified dose: product, lot, expiry, volume, diluent,
        when and by whom (the actor)."""
        subject = Subject(
            verb="pharmacy.prepare", resource_type="preparation", resource_id=preparation_id
        )
        self._authorize(actor, subject)

        def work(uow: UnitOfWork) -> DosePreparation:
            row = self._current_row(uow, preparation_id, PreparationStatus.VERIFIED, "prepared")
            made_at = prepared_at or actor.at
            if made_at.tzinfo is None or made_at - actor.at > CLOCK_TOLERANCE:
                raise InvalidCommand("prepared_at may not be in the future", field="prepared_at")
            if expiry < self._local_day(made_at):
                raise InvalidCommand(
                    f"the product expired on {expiry.isoformat()}: it may not be used",
                    field="expiry",
                )
            prepared = replace(
                row,
                status=PreparationStatus.PREPARED,
                product=_text(product, "product"),
                lot=_text(lot, "lot", limit=64),
                expiry=expiry,
                prepared_volume_ml=parse_volume(prepared_volume_ml),
                diluent=_text(diluent, "diluent"),
                prepared_at=made_at,
                prepared_by=actor.user_id,
            )
            uow.preparations.update(prepared)
            return prepared

        return self._access.run(actor, Action.READ_APPOINTMENT, subject, work)

    def check_preparation(
        self, actor: Actor, preparation_id: str, *, checker: Principal
    ) -> DosePreparation:
        """The second person's check of a prepared bag: ``checker`` (authenticated by the
        adapter) must be a pharmacist and another user than the one who prepared it."""
        subject = Subject(
            verb="pharmacy.check", resource_type="preparation", resource_id=preparation_id
        )
        self._authorize(actor, subject)
        checking = checker.acting(actor.at, actor.remote_addr)
        self._authorize(checking, subject)

        def work(uow: UnitOfWork) -> DosePreparation:
            row = self._current_row(uow, preparation_id, PreparationStatus.PREPARED, "checked")
            if checking.user_id == row.prepared_by:
                raise InvalidCommand(
                    "the second check must be made by another person than the one who "
                    "prepared the bag",
                    field="checked_by",
                )
            checked = replace(
                row,
                status=PreparationStatus.CHECKED,
                checked_by=checking.user_id,
                checked_at=actor.at,
            )
            uow.preparations.update(checked)
            return checked

        return self._access.run(checking, Action.READ_APPOINTMENT, subject, work)

    # -- helpers -----------------------------------------------------------------------------

    def _authorize(self, actor: Actor, subject: Subject) -> None:
        """Deny by default: only roles with ``verify_dose`` (the permission matrix); a denial
        is audited before it is raised."""
        if not is_allowed(actor.role, Action.VERIFY_DOSE):
            self._access.note(actor, subject, "denied")
            raise PermissionDenied(role=actor.role.value, action=VERIFY_ACTION)

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self._tz).date()

    def _row(
        self, appointment: Appointment, preparation_id: str, status: PreparationStatus
    ) -> DosePreparation:
        protocol = self._catalog.get_protocol(appointment.protocol_id)
        return DosePreparation(
            id=preparation_id,
            appointment_id=appointment.id,
            patient_id=appointment.patient_id,
            protocol_id=appointment.protocol_id,
            protocol_version=protocol.version,
            dose_number=appointment.dose_number,
            order_id=appointment.order_id,
            status=status,
        )

    @staticmethod
    def _open_appointment(uow: UnitOfWork, appointment_id: str) -> Appointment:
        appointment = uow.appointments.get(appointment_id)
        if appointment.status in (
            AppointmentStatus.CANCELLED,
            AppointmentStatus.COMPLETED,
            AppointmentStatus.IN_PROGRESS,
        ):
            raise InvalidCommand(
                f"the appointment is {appointment.status.value}: its dose is no longer verified",
                field="appointment_id",
            )
        return appointment

    def _current_row(
        self, uow: UnitOfWork, preparation_id: str, needed: PreparationStatus, step: str
    ) -> DosePreparation:
        """The preparation, if it is its dose's current row in status ``needed``."""
        row = uow.preparations.get(preparation_id)
        self._open_appointment(uow, row.appointment_id)
        current = current_preparation(uow.preparations.list_for_appointment(row.appointment_id))
        if current is None or current.id != row.id or row.status is not needed:
            raise InvalidCommand(
                f"bag {row.id} is {row.status.value}: only a {needed.value} bag can be {step}",
                field="status",
            )
        return row

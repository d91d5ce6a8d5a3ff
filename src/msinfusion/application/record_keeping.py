"""Write use cases for the records a centre keeps: patients, chairs, therapy orders, appointments.

Each one checks its permission, changes storage in one unit of work with its audit entry, and
returns the stored record. Rules that need the catalog (a known therapy, a plannable protocol)
are checked here, against the catalog and the planner — never in an adapter.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from msinfusion.application.audit import Actor, AuditedAccess, Subject, entry
from msinfusion.application.booking_rules import (
    SeriesDose,
    check_chair_free,
    check_not_double_booked,
)
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.order_premedication import checked_premedications
from msinfusion.application.permissions import Action
from msinfusion.application.ports import Repository, UnitOfWork
from msinfusion.application.reaction_history import reaction_history, require_not_contraindicated
from msinfusion.application.records import (
    ALLERGY_SEVERITIES,
    Appointment,
    AppointmentStatus,
    Chair,
    OrderStatus,
    Patient,
    TherapyOrder,
)
from msinfusion.application.reminder_contact import checked_reminder_contact
from msinfusion.application.session_streams import SessionStreams
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import (
    DuplicateRecord,
    InvalidCommand,
    InvalidCourseOrder,
    MsinfusionError,
    RecordNotFound,
)
from msinfusion.planning import after, plan_infusion
from msinfusion.planning.course_plan import BUILDERS, plan_course
from msinfusion.planning.courses import CourseOrder
from msinfusion.planning.gates import GateStage, require_clear

PATIENT_FIELDS = frozenset(
    {
        "display_name",
        "date_of_birth",
        "sex",
        "height_cm",
        "weight_kg",
        "contraindicated_therapy_ids",
        "identifiers",
        "allergies",
        "synthetic",
        "reminder_contact",
    }
)
CHAIR_FIELDS = frozenset({"name", "attributes", "active"})
APPOINTMENT_TERMINAL = frozenset({AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED})
MAX_REASON_LENGTH = 500
ORDER_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.DISCONTINUED}),
    OrderStatus.SIGNED: frozenset({OrderStatus.ON_HOLD, OrderStatus.DISCONTINUED}),
    OrderStatus.ON_HOLD: frozenset({OrderStatus.SIGNED, OrderStatus.DISCONTINUED}),
    OrderStatus.DISCONTINUED: frozenset(),
}
"""Status changes a physician may make (signing a draft is ``sign_order``: it needs the
password again). Resuming an order on hold signs it again, in the physician's name."""
ORDER_VERBS = {
    OrderStatus.SIGNED: "order.resume",
    OrderStatus.ON_HOLD: "order.hold",
    OrderStatus.DISCONTINUED: "order.discontinue",
}


def _check_stop_day(order: TherapyOrder, day: date | None, today: date) -> None:
    """A stop day is on or after the order's start and not after the centre's today."""
    if day is None:
        return
    if day < order.start_date or day > today:
        raise InvalidCommand(
            f"discontinued_on must be from the order's start ({order.start_date.isoformat()}) "
            "to today",
            field="discontinued_on",
        )


def same_person_key(display_name: str, date_of_birth: date | None) -> tuple[str, date | None]:
    """Name and date of birth as duplicate detection compares them: case, accents, spacing
    and the order of the name's words do not matter.

    >>> same_person_key("  Müller,  Anna ", None) == same_person_key("anna muller", None)
    True
    """
    plain = unicodedata.normalize("NFKD", display_name)
    letters = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    words = sorted("".join(c if c.isalnum() else " " for c in letters).split())
    return " ".join(words), date_of_birth


def possible_duplicates(
    patients: Iterable[Patient], display_name: str, date_of_birth: date | None
) -> list[Patient]:
    """Stored patients with the same name and date of birth (none without a date of birth)."""
    if date_of_birth is None:
        return []
    key = same_person_key(display_name, date_of_birth)
    return [p for p in patients if same_person_key(p.display_name, p.date_of_birth) == key]


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = " ".join((reason or "").split())
    if required and not text:
        raise InvalidCommand("reason: give the reason in words", field="reason")
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidCommand(
            f"reason must be at most {MAX_REASON_LENGTH} characters", field="reason"
        )
    return text or None


R = TypeVar("R")


def referenced(repository: Repository[R], record_id: str, field: str) -> R:
    """A record named in a request body; a missing one is bad input naming the field (422)."""
    try:
        return repository.get(record_id)
    except RecordNotFound:
        raise InvalidCommand(f"{field} names no known record: {record_id!r}", field=field) from None


def _changes(changes: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidCommand(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    return dict(changes)


class PasswordConfirmation(Protocol):
    """``Accounts.confirm_password``: raises ``AuthenticationFailed`` for a wrong password."""

    def __call__(self, actor: Actor, password: str, *, subject: Subject) -> None: ...


class RecordKeeping:
    """Patients, chairs, orders and appointments: create and change."""

    def __init__(
        self,
        access: AuditedAccess,
        catalog: Catalog,
        *,
        new_id: Callable[[str], str],
        clinical: ClinicalRecords,
        streams: SessionStreams,
        confirm_password: PasswordConfirmation | None = None,
    ) -> None:
        self._confirm_password = confirm_password
        """Checks the signer's password again (``Accounts.confirm_password``); a centre built
        without one (tools, tests of the order rules) signs on the caller's word."""
        self._access = access
        self._catalog = catalog
        self._new_id = new_id
        self._clinical = clinical
        self._streams = streams

    # -- patients -------------------------------------------------------------------------------

    def add_patient(
        self, actor: Actor, *, refuse_duplicates: bool = False, **values: Any
    ) -> Patient:
        """Register a patient. ``refuse_duplicates``: refuse (``DuplicateRecord`` naming
        ``display_name``) when a stored patient has the same name and date of birth
        (``same_person_key``); the registration page asks for confirmation, then sends False."""
        patient_id = self._new_id("patient")

        def work(uow: UnitOfWork) -> Patient:
            patient = Patient(id=patient_id, **self._patient_values(actor, values))
            if refuse_duplicates:
                found = possible_duplicates(
                    uow.patients.list(), patient.display_name, patient.date_of_birth
                )
                if found:
                    raise DuplicateRecord(
                        f"{len(found)} patient(s) with this name and date of birth are already "
                        "registered: confirm that this is another person to register anyway",
                        field="display_name",
                    )
            _require_unique_identifiers(uow, patient)
            uow.patients.add(patient)
            return patient

        subject = Subject(verb="patient.create", resource_type="patient", resource_id=patient_id)
        return self._access.run(actor, Action.WRITE_PATIENT, subject, work)

    def update_patient(self, actor: Actor, patient_id: str, changes: Mapping[str, Any]) -> Patient:
        def work(uow: UnitOfWork) -> Patient:
            values = self._patient_values(actor, changes)
            patient = replace(uow.patients.get(patient_id), **values)
            _require_unique_identifiers(uow, patient)
            uow.patients.update(patient)
            return patient

        subject = Subject(verb="patient.update", resource_type="patient", resource_id=patient_id)
        return self._access.run(actor, Action.WRITE_PATIENT, subject, work)

    def _patient_values(self, actor: Actor, values: Mapping[str, Any]) -> dict[str, Any]:
        checked = _changes(values, PATIENT_FIELDS)
        for therapy_id in checked.get("contraindicated_therapy_ids", ()):
            self._catalog.get_therapy(therapy_id)
        if "reminder_contact" in checked:
            checked["reminder_contact"] = checked_reminder_contact(checked["reminder_contact"])
        born = checked.get("date_of_birth")
        if born is not None and born > actor.at.date():
            raise InvalidCommand("date_of_birth is in the future", field="date_of_birth")
        if "display_name" in checked and not str(checked["display_name"]).strip():
            raise InvalidCommand("display_name must be non-empty text", field="display_name")
        systems = [i.system for i in checked.get("identifiers", ())]
        if len(systems) != len(set(systems)):
            raise InvalidCommand(
                "identifiers: one value per identifier system", field="identifiers"
            )
        for allergy in checked.get("allergies", ()):
            if allergy.severity is not None and allergy.severity not in ALLERGY_SEVERITIES:
                raise InvalidCommand(
                    f"allergies: severity must be one of {', '.join(ALLERGY_SEVERITIES)}",
                    field="allergies",
                )
        return checked

    # -- chairs ---------------------------------------------------------------------------------

    def add_chair(self, actor: Actor, *, name: str, attributes: tuple[str, ...] = ()) -> Chair:
        chair = Chair(id=self._new_id("chair"), name=name, attributes=attributes)

        def work(uow: UnitOfWork) -> Chair:
            uow.chairs.add(chair)
            return chair

        subject = Subject(verb="chair.create", resource_type="chair", resource_id=chair.id)
        return self._access.run(actor, Action.MANAGE_CHAIRS, subject, work)

    def update_chair(self, actor: Actor, chair_id: str, changes: Mapping[str, Any]) -> Chair:
        values = _changes(changes, CHAIR_FIELDS)

        def work(uow: UnitOfWork) -> Chair:
            chair = replace(uow.chairs.get(chair_id), **values)
            uow.chairs.update(chair)
            return chair

        subject = Subject(verb="chair.update", resource_type="chair", resource_id=chair_id)
        return self._access.run(actor, Action.MANAGE_CHAIRS, subject, work)

    # -- therapy orders -------------------------------------------------------------------------

    def add_order(
        self,
        actor: Actor,
        *,
        patient_id: str,
        therapy_id: str,
        start_date: date,
        options: tuple[tuple[str, str], ...] = (),
        note: str | None = None,
        draft: bool = False,
        premedications: Mapping[str, str] | None = None,
    ) -> TherapyOrder:
        """A physician's order; the prescriber is the acting user. ``draft``: stored unsigned
        and inactive (no calendar flags, no booking) until ``sign_order``; otherwise signed now,
        as the JSON API has always stored orders. ``premedications``: the physician's pick per
        protocol premedication (``order_premedication``)."""
        order = TherapyOrder(
            id=self._new_id("order"),
            patient_id=patient_id,
            therapy_id=therapy_id,
            start_date=start_date,
            prescriber_id=actor.user_id,
            options=options,
            note=note,
            active=not draft,
            status=OrderStatus.DRAFT if draft else OrderStatus.SIGNED,
            signed_at=None if draft else actor.at,
            signed_by=None if draft else actor.user_id,
        )

        def work(uow: UnitOfWork) -> TherapyOrder:
            therapy = self._catalog.get_therapy(therapy_id)
            check_order_options(therapy_id, start_date, options)
            referenced(uow.patients, patient_id, "patient_id")
            picked = checked_premedications(therapy, premedications or {})
            uow.orders.add(replace(order, premedications=picked))
            return replace(order, premedications=picked)

        subject = Subject(verb="order.create", resource_type="order", resource_id=order.id)
        return self._access.run(actor, Action.WRITE_ORDER, subject, work)

    def set_order_active(self, actor: Actor, order_id: str, *, active: bool) -> TherapyOrder:
        def work(uow: UnitOfWork) -> TherapyOrder:
            order = replace(uow.orders.get(order_id), active=active)
            uow.orders.update(order)
            return order

        subject = Subject(verb="order.update", resource_type="order", resource_id=order_id)
        return self._access.run(actor, Action.WRITE_ORDER, subject, work)

    def sign_order(self, actor: Actor, order_id: str, *, password: str = "") -> TherapyOrder:
        """Sign a draft in the acting physician's name; it becomes active (bookable).

        Signing needs the physician's ``password`` typed again: checked here
        (``confirm_password``, wired in ``bootstrap``) before anything is read or stored.
        """
        subject = Subject(verb="order.sign", resource_type="order", resource_id=order_id)
        if self._confirm_password is not None:
            self._access.authorize(actor, Action.WRITE_ORDER, subject)
            self._confirm_password(actor, password, subject=subject)

        def work(uow: UnitOfWork) -> TherapyOrder:
            order = uow.orders.get(order_id)
            if order.status is not OrderStatus.DRAFT:
                raise InvalidCommand(
                    f"order {order_id} is {order.status.value}: only a draft is signed",
                    field="status",
                )
            check_order_options(order.therapy_id, order.start_date, order.options)
            signed = replace(
                order,
                status=OrderStatus.SIGNED,
                active=True,
                signed_at=actor.at,
                signed_by=actor.user_id,
            )
            uow.orders.update(signed)
            return signed

        return self._access.run(actor, Action.WRITE_ORDER, subject, work)

    def change_order_status(
        self,
        actor: Actor,
        order_id: str,
        status: OrderStatus,
        *,
        reason: str | None,
        discontinued_on: date | None = None,
    ) -> TherapyOrder:
        """Hold, resume or discontinue an order (``ORDER_TRANSITIONS``); holding and
        discontinuing need a reason. Only a signed order is active. ``discontinued_on`` (only
        with discontinued): the clinic day treatment stopped, from the order's start to today
        (``POST /api/orders/{id}/discontinue``); the programmes' follow-up counts from it."""
        why = _reason(reason, required=status is not OrderStatus.SIGNED)
        if discontinued_on is not None and status is not OrderStatus.DISCONTINUED:
            raise InvalidCommand(
                "discontinued_on goes only with discontinuing", field="discontinued_on"
            )

        def work(uow: UnitOfWork) -> TherapyOrder:
            order = uow.orders.get(order_id)
            if status not in ORDER_TRANSITIONS[order.status]:
                raise InvalidCommand(
                    f"order {order_id} is {order.status.value} and cannot become {status.value}",
                    field="status",
                )
            _check_stop_day(order, discontinued_on, self._clinical.local_day(actor.at))
            changed = replace(
                order,
                status=status,
                active=status is OrderStatus.SIGNED,
                status_reason=why,
                discontinued_on=discontinued_on,
            )
            if status is OrderStatus.SIGNED:
                changed = replace(changed, signed_at=actor.at, signed_by=actor.user_id)
            uow.orders.update(changed)
            return changed

        verb = ORDER_VERBS.get(status, "order.update")
        subject = Subject(verb=verb, resource_type="order", resource_id=order_id)
        return self._access.run(actor, Action.WRITE_ORDER, subject, work)

    # -- appointments ---------------------------------------------------------------------------

    def book_appointment(
        self,
        actor: Actor,
        *,
        patient_id: str,
        chair_id: str,
        protocol_id: str,
        dose_number: int,
        starts_at: datetime,
        order_id: str | None = None,
    ) -> Appointment:
        """Book a chair; the end is the protocol's planned chair time from ``starts_at``.

        Refused when the patient's history contraindicates the therapy
        (``therapy-contraindicated``), a mandatory gate of the dose fails (``GateBlocked``) or
        the dose is before the label's minimum interval (``DoseTooEarly``); a result still
        missing may come before the dose and blocks only its start.
        """

        def work(uow: UnitOfWork) -> Appointment:
            appointment = Appointment(
                id=self._new_id("appointment"),
                patient_id=patient_id,
                chair_id=chair_id,
                protocol_id=protocol_id,
                dose_number=dose_number,
                starts_at=starts_at,
                ends_at=starts_at,
                order_id=order_id,
            )
            checked = self._checked_booking(uow, appointment)
            uow.appointments.add(checked)
            return checked

        subject = Subject(verb="appointment.create", resource_type="appointment")
        return self._access.run(
            actor, Action.BOOK_APPOINTMENT, subject, work, result_id=lambda a: a.id
        )

    def book_series(
        self, actor: Actor, *, patient_id: str, order_id: str, doses: Sequence[SeriesDose]
    ) -> list[Appointment]:
        """Book several doses of one order at once, all or nothing: each dose is checked as
        ``book_appointment`` checks it (later doses see the earlier ones of the series), and
        the first refusal, named ``doses[i]: ...`` with its rule's field, books none."""
        if not doses:
            raise InvalidCommand("doses: choose at least one dose to book", field="doses")

        def work(uow: UnitOfWork) -> list[Appointment]:
            booked: list[Appointment] = []
            for index, dose in enumerate(doses):
                wanted = Appointment(
                    id=self._new_id("appointment"),
                    patient_id=patient_id,
                    chair_id=dose.chair_id,
                    protocol_id=dose.protocol_id,
                    dose_number=dose.dose_number,
                    starts_at=dose.starts_at,
                    ends_at=dose.starts_at,
                    order_id=order_id,
                )
                try:
                    checked = self._checked_booking(uow, wanted)
                except MsinfusionError as error:
                    error.message = f"doses[{index}] (dose {dose.dose_number}): {error.message}"
                    error.args = (error.message,)
                    raise
                uow.appointments.add(checked)
                uow.audit.record(entry(actor, _created(checked), "ok", at=actor.at))
                booked.append(checked)
            return booked

        subject = Subject(verb="appointment.series", resource_type="order", resource_id=order_id)
        return self._access.run(actor, Action.BOOK_APPOINTMENT, subject, work)

    def _checked_booking(self, uow: UnitOfWork, booking: Appointment) -> Appointment:
        """``booking`` with its end, after every booking rule (see ``book_appointment``)."""
        protocol = self._catalog.get_protocol(booking.protocol_id)
        patient = referenced(uow.patients, booking.patient_id, "patient_id")
        chair = referenced(uow.chairs, booking.chair_id, "chair_id")
        if not chair.active:
            raise InvalidCommand(f"chair {booking.chair_id} is not in service", field="chair_id")
        if booking.order_id is not None:
            _check_order(uow, booking.order_id, booking.patient_id, protocol.therapy_id)
        require_not_contraindicated(
            reaction_history(uow, self._streams, patient), protocol.therapy_id
        )
        gates = self._clinical.dose_gates(
            uow,
            patient_id=booking.patient_id,
            protocol_id=booking.protocol_id,
            dose_number=booking.dose_number,
            on=self._clinical.local_day(booking.starts_at),
            order_id=booking.order_id,
            booked_count=True,
        )
        require_clear(gates.gates, GateStage.BOOKING)
        plan = plan_infusion(
            protocol,
            booking.starts_at,
            dose_number=booking.dose_number,
            height_cm=patient.height_cm,
            weight_kg=patient.weight_kg,
        )
        ends_at = after(booking.starts_at, plan.chair_time)
        check_chair_free(uow, booking.chair_id, booking.starts_at, ends_at, booking.id)
        check_not_double_booked(uow, replace(booking, ends_at=ends_at))
        return replace(booking, ends_at=ends_at)

    def reschedule_appointment(
        self,
        actor: Actor,
        appointment_id: str,
        *,
        starts_at: datetime,
        chair_id: str | None = None,
        reason: str,
    ) -> Appointment:
        """Move a booked visit to another time (and chair), checked as a new booking is; the
        reason is kept on the appointment."""
        why = _reason(reason, required=True)

        def work(uow: UnitOfWork) -> Appointment:
            current = uow.appointments.get(appointment_id)
            if current.status is not AppointmentStatus.BOOKED:
                raise InvalidCommand(
                    f"appointment {appointment_id} is {current.status.value} and cannot be "
                    "rescheduled",
                    field="status",
                )
            moved = self._checked_booking(
                uow,
                replace(current, starts_at=starts_at, chair_id=chair_id or current.chair_id),
            )
            moved = replace(moved, status_reason=why)
            uow.appointments.update(moved)
            return moved

        subject = Subject(
            verb="appointment.reschedule", resource_type="appointment", resource_id=appointment_id
        )
        return self._access.run(actor, Action.BOOK_APPOINTMENT, subject, work)

    def cancel_appointment(
        self, actor: Actor, appointment_id: str, *, reason: str | None = None
    ) -> Appointment:
        """Cancel a visit not yet started; ``reason`` (the scheduler's words) is kept."""
        why = _reason(reason, required=False)

        def work(uow: UnitOfWork) -> Appointment:
            appointment = uow.appointments.get(appointment_id)
            if appointment.status in APPOINTMENT_TERMINAL or appointment.session_id is not None:
                raise InvalidCommand(
                    f"appointment {appointment_id} is {appointment.status.value} and cannot be "
                    "cancelled",
                    field="status",
                )
            cancelled = replace(
                appointment,
                status=AppointmentStatus.CANCELLED,
                status_reason=why or appointment.status_reason,
            )
            uow.appointments.update(cancelled)
            return cancelled

        subject = Subject(
            verb="appointment.cancel", resource_type="appointment", resource_id=appointment_id
        )
        return self._access.run(actor, Action.BOOK_APPOINTMENT, subject, work)


def _created(appointment: Appointment) -> Subject:
    return Subject(
        verb="appointment.create", resource_type="appointment", resource_id=appointment.id
    )


def _require_unique_identifiers(uow: UnitOfWork, patient: Patient) -> None:
    """An identifier (system and value) names one patient only: a second is a duplicate."""
    mine = {(i.system, i.value) for i in patient.identifiers}
    if not mine:
        return
    for other in uow.patients.list():
        if other.id != patient.id and mine & {(i.system, i.value) for i in other.identifiers}:
            raise DuplicateRecord(
                f"identifier already names patient {other.id}", field="identifiers"
            )


def _check_order(uow: UnitOfWork, order_id: str, patient_id: str, therapy_id: str) -> None:
    order = referenced(uow.orders, order_id, "order_id")
    if order.patient_id != patient_id or order.therapy_id != therapy_id:
        raise InvalidCommand("the order is for another patient or therapy", field="order_id")
    if order.status is not OrderStatus.SIGNED:
        raise InvalidCommand(
            f"order {order_id} is {order.status.value}: only a signed order is booked",
            field="order_id",
        )


def check_order_options(
    therapy_id: str, start_date: date, options: tuple[tuple[str, str], ...]
) -> None:
    """Refuse, at the order, options its course calendar would refuse later (an unknown option
    or value once blocked booking and the infusion start): ``InvalidCourseOrder``, 422."""
    if therapy_id in BUILDERS:
        plan_course(
            CourseOrder.create(therapy_id=therapy_id, start=start_date, options=dict(options))
        )
    elif options:
        raise InvalidCourseOrder(
            f"therapy '{therapy_id}' takes no order options; got {options[0][0]!r}",
            field=f"option:{options[0][0]}",
        )

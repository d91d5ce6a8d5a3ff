"""Read use cases: patients, chairs, orders, appointments, the day's board, catalog, plans, audit.

Every read of patient data (patients, orders, appointments, the board) is audited with the
reader, the time and the address; catalog and plan reads hold no patient data and are not.
The board joins a day's appointments with their live session views (status, rate, volume,
projected chair release) at the request time, from projection rows (``application.board``).
"""

from __future__ import annotations

import dataclasses
import enum
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from fractions import Fraction
from typing import Any

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.board import BoardRow, read_board
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.reaction_history import reaction_history
from msinfusion.application.record_keeping import possible_duplicates
from msinfusion.application.records import (
    Appointment,
    AuditEntry,
    Chair,
    Patient,
    TherapyOrder,
)
from msinfusion.application.session_streams import SessionStreams
from msinfusion.catalog.model import Protocol, Severity
from msinfusion.catalog.registry import Catalog
from msinfusion.planning import InfusionPlan, plan_infusion


def day_bounds(day: date, display_tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC start and end of ``day`` on the centre's clock (23 or 25 hours across DST)."""
    start = datetime.combine(day, time(0), tzinfo=display_tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=display_tz).astimezone(UTC)
    return start, end


def to_json(value: object) -> Any:
    """Plain JSON data from records and catalog values (exact decimals as numbers)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | Fraction):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    return value


class RecordQueries:
    """Audited reads of the centre's records and the day's board."""

    def __init__(self, access: AuditedAccess, streams: SessionStreams, catalog: Catalog) -> None:
        self._access = access
        self._streams = streams
        self._catalog = catalog

    def list_patients(self, actor: Actor) -> list[Patient]:
        subject = Subject(verb="patient.list", resource_type="patient")
        return self._access.run(
            actor,
            Action.READ_PATIENT,
            subject,
            lambda u: [self._with_history(u, p) for p in u.patients.list()],
        )

    def _with_history(self, uow: UnitOfWork, patient: Patient) -> Patient:
        """The patient with every therapy contraindicated for them: recorded, or discontinued
        by a reaction in a stored session, so lists and the board show what check-in enforces.
        """
        history = reaction_history(uow, self._streams, patient)
        derived = tuple(sorted(t for t, h in history.items() if h.contraindicated))
        if derived == patient.contraindicated_therapy_ids:
            return patient
        return replace(patient, contraindicated_therapy_ids=derived)

    def get_patient_record(self, actor: Actor, patient_id: str) -> tuple[Patient, tuple[str, ...]]:
        """The patient and every therapy contraindicated for them: recorded, or discontinued by
        a reaction in a stored session (``reaction_history``), in one audited read."""
        subject = Subject(verb="patient.read", resource_type="patient", resource_id=patient_id)

        def work(uow: UnitOfWork) -> tuple[Patient, tuple[str, ...]]:
            patient = uow.patients.get(patient_id)
            history = reaction_history(uow, self._streams, patient)
            return patient, tuple(sorted(t for t, h in history.items() if h.contraindicated))

        return self._access.run(actor, Action.READ_PATIENT, subject, work)

    def get_patient(self, actor: Actor, patient_id: str) -> Patient:
        subject = Subject(verb="patient.read", resource_type="patient", resource_id=patient_id)
        return self._access.run(
            actor, Action.READ_PATIENT, subject, lambda u: u.patients.get(patient_id)
        )

    def list_chairs(self, actor: Actor) -> list[Chair]:
        subject = Subject(verb="chair.list", resource_type="chair")
        return self._access.run(actor, Action.READ_CHAIRS, subject, lambda u: u.chairs.list())

    def list_orders(self, actor: Actor, *, patient_id: str | None = None) -> list[TherapyOrder]:
        subject = Subject(verb="order.list", resource_type="order", resource_id=patient_id)

        def work(uow: UnitOfWork) -> list[TherapyOrder]:
            if patient_id is None:
                return uow.orders.list()
            return uow.orders.list_for_patient(patient_id)

        return self._access.run(actor, Action.READ_ORDER, subject, work)

    def get_order(self, actor: Actor, order_id: str) -> TherapyOrder:
        subject = Subject(verb="order.read", resource_type="order", resource_id=order_id)
        return self._access.run(actor, Action.READ_ORDER, subject, lambda u: u.orders.get(order_id))

    def list_appointments(self, actor: Actor, day: date, display_tz: tzinfo) -> list[Appointment]:
        start, end = day_bounds(day, display_tz)
        subject = Subject(verb="appointment.list", resource_type="appointment")
        return self._access.run(
            actor,
            Action.READ_APPOINTMENT,
            subject,
            lambda u: u.appointments.list_between(start, end),
        )

    def get_appointment(self, actor: Actor, appointment_id: str) -> Appointment:
        subject = Subject(
            verb="appointment.read", resource_type="appointment", resource_id=appointment_id
        )
        return self._access.run(
            actor,
            Action.READ_APPOINTMENT,
            subject,
            lambda u: u.appointments.get(appointment_id),
        )

    def get_board(self, actor: Actor, day: date, display_tz: tzinfo) -> list[BoardRow]:
        """The day's appointments in start order, each with its patient, chair and live session
        view at the request time: one audited read."""
        start, end = day_bounds(day, display_tz)
        subject = Subject(verb="board.read", resource_type="board", resource_id=day.isoformat())

        def work(uow: UnitOfWork) -> list[BoardRow]:
            appointments = uow.appointments.list_between(start, end)
            return read_board(uow, self._streams, appointments, actor.at, display_tz)

        return self._access.run(actor, Action.READ_BOARD, subject, work)

    def list_audit(
        self,
        actor: Actor,
        *,
        user_id: str | None = None,
        resource_type: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        subject = Subject(verb="audit.read", resource_type="audit")
        return self._access.run(
            actor,
            Action.READ_AUDIT,
            subject,
            lambda u: u.audit.list(
                user_id=user_id, resource_type=resource_type, since=since, limit=limit
            ),
        )

    def search_patients(self, actor: Actor, text: str, *, limit: int = 200) -> list[Patient]:
        """Patients whose name contains every word of ``text`` (case and accents aside), whose
        date of birth it is (``YYYY-MM-DD`` or ``DD.MM.YYYY``), or who carry it as an
        identifier value (an MRN); by name. Audited as ``patient.search`` (without the text)."""
        subject = Subject(verb="patient.search", resource_type="patient")
        wanted = text.strip()

        def work(uow: UnitOfWork) -> list[Patient]:
            found = [p for p in uow.patients.list() if patient_matches(p, wanted)]
            return sorted(found, key=lambda p: (p.display_name.casefold(), p.id))[:limit]

        return self._access.run(actor, Action.READ_PATIENT, subject, work)

    def find_duplicates(
        self, actor: Actor, display_name: str, date_of_birth: date | None
    ) -> list[Patient]:
        """Stored patients with this name and date of birth (``possible_duplicates``)."""
        subject = Subject(verb="patient.search", resource_type="patient")
        return self._access.run(
            actor,
            Action.READ_PATIENT,
            subject,
            lambda u: possible_duplicates(u.patients.list(), display_name, date_of_birth),
        )

    def search_audit(self, actor: Actor, search: AuditSearch) -> list[AuditEntry]:
        """Audit entries matching ``search``, newest first (at most ``search.limit``).

        A patient matches the entries about the patient and about their orders, appointments,
        sessions and pharmacy preparations (the trail holds ids only). Filtered in the store
        (``AuditLog.list``), not here. Read through ``read_audit`` and audited.
        """
        subject = Subject(verb="audit.read", resource_type="audit")

        def work(uow: UnitOfWork) -> list[AuditEntry]:
            ids = None if search.patient_id is None else _patient_resource_ids(uow, search)
            rows = uow.audit.list(
                user_id=search.user_id,
                since=search.since,
                until=search.until,
                action=search.action,
                resource_ids=ids,
                limit=search.limit,
            )
            return list(reversed(rows))

        return self._access.run(actor, Action.READ_AUDIT, subject, work)


class CatalogQueries:
    """The catalog and infusion plans (no patient data, so no audit entry)."""

    def __init__(self, access: AuditedAccess, catalog: Catalog) -> None:
        self._access = access
        self._catalog = catalog

    def protocol(self, protocol_id: str) -> Protocol:
        """The catalog's protocol (public reference data: no permission, no audit)."""
        return self._catalog.get_protocol(protocol_id)

    def list_protocols(self, actor: Actor) -> list[dict[str, Any]]:
        subject = Subject(verb="catalog.list", resource_type="catalog")
        self._access.authorize(actor, Action.READ_CATALOG, subject)
        return [
            {
                "therapy_id": therapy.id,
                "inn": therapy.inn,
                "brands": list(therapy.brands),
                "off_label_in_ms": therapy.off_label_in_ms,
                "protocol_id": protocol.id,
                "protocol_version": protocol.version,
                "title": protocol.title,
                "review_date": protocol.review_date.isoformat(),
                "off_label": protocol.off_label,
            }
            for therapy in self._catalog
            for protocol in therapy.protocols
        ]

    def get_protocol(self, actor: Actor, protocol_id: str) -> dict[str, Any]:
        subject = Subject(verb="catalog.read", resource_type="protocol", resource_id=protocol_id)
        self._access.authorize(actor, Action.READ_CATALOG, subject)
        data: dict[str, Any] = to_json(self._catalog.get_protocol(protocol_id))
        return data

    def plan(
        self,
        actor: Actor,
        protocol_id: str,
        *,
        start_at: datetime,
        dose_number: int | None = None,
        height_cm: Decimal | None = None,
        weight_kg: Decimal | None = None,
        bag_volume_ml: Decimal | None = None,
        course_day: int | None = None,
        worst_prior_reaction: Severity | None = None,
    ) -> InfusionPlan:
        subject = Subject(verb="plan.read", resource_type="protocol", resource_id=protocol_id)
        self._access.authorize(actor, Action.READ_CATALOG, subject)
        return plan_infusion(
            self._catalog.get_protocol(protocol_id),
            start_at,
            dose_number=dose_number,
            height_cm=height_cm,
            weight_kg=weight_kg,
            bag_volume_ml=bag_volume_ml,
            course_day=course_day,
            worst_prior_reaction=worst_prior_reaction,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSearch:
    """What the audit viewer asks for; every part optional. ``action`` matches a verb or its
    start (``order`` finds ``order.sign``); ``until`` is exclusive."""

    user_id: str | None = None
    patient_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 500


def _patient_resource_ids(uow: UnitOfWork, search: AuditSearch) -> frozenset[str]:
    patient_id = str(search.patient_id)
    ids = {patient_id}
    ids.update(o.id for o in uow.orders.list_for_patient(patient_id))
    for appointment in uow.appointments.list_for_patient(patient_id):
        ids.add(appointment.id)
        if appointment.session_id is not None:
            ids.add(appointment.session_id)
    ids.update(s.session_id for s in uow.sessions.list_for_patient(patient_id))
    for appointment in uow.appointments.list_for_patient(patient_id):
        # The pharmacy's steps: verification and return are about the appointment, the
        # preparation and its second check about the bag (its preparation id).
        ids.update(p.id for p in uow.preparations.list_for_appointment(appointment.id))
    return frozenset(ids)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _as_birth_date(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007  # a calendar date
        except ValueError:
            continue
    return None


def patient_matches(patient: Patient, text: str) -> bool:
    """Whether a patient search for ``text`` finds ``patient`` (see ``search_patients``).

    >>> from msinfusion.application.records import PatientIdentifier
    >>> p = Patient(id="p1", display_name="Anna Müller", date_of_birth=date(1980, 2, 3),
    ...             identifiers=(PatientIdentifier(system="urn:mrn", value="MRN-7"),))
    >>> [patient_matches(p, t) for t in ("muller", "03.02.1980", "mrn-7", "anna b", "")]
    [True, True, True, False, False]
    """
    if not text:
        return False
    born = _as_birth_date(text)
    if born is not None and patient.date_of_birth == born:
        return True
    if any(i.value.casefold() == text.casefold() for i in patient.identifiers):
        return True
    name = _plain(patient.display_name)
    return all(word in name for word in _plain(text).split())

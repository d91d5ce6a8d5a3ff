"""A patient's stored clinical record between infusions, and the gate decisions read from it.

Entries (``ClinicalEntry``) are append-only: labs, vaccinations, findings, gate overrides,
profile answers, doses given elsewhere and retractions of entries made in error. An entry is
validated by ``clinical_entry_input`` (the ``course check`` file's parser, plus what only the
centre knows), read back through ``clinical_record_view``, and its dose history counted by
``planning.dose_history``; this module holds the use cases that read and write them.

A retraction of an entry whose author had another role than the retracting user waits for a
co-signature (``retraction_cosign``): it is stored as pending and changes no decision until a
user of the author's role, or a physician, co-signs it in a separate request
(``cosign_retraction``); both steps are audited (docs/clinical/safety-across-visits.md,
"Co-signed retraction").

``dose_gates`` is the one place that decides whether a dose may be booked or started: booking
refuses a failed mandatory gate (``GateStage.BOOKING``), starting the infusion refuses a failed
or missing one (``GateStage.START``); both refuse a dose before the label's minimum interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.clinical_entry_input import EntryContext, checked_entry, entry_kind
from msinfusion.application.clinical_record_view import (
    COSIGNS,
    OrderCourse,
    PatientCourses,
    PatientFile,
    booked_doses,
    cosignatures,
    course_order,
    order_for_dose,
    recorded_doses,
    retracted_ids,
    started_infusions,
    stored_record,
)
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import (
    ClinicalEntry,
    ClinicalEntryKind,
    OrderStatus,
    TherapyOrder,
)
from msinfusion.application.retraction_cosign import cosigned, cosigned_id, held_for_cosignature
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import InvalidCourseOrder, RecordNotFound
from msinfusion.planning.course_check import (
    CourseCheck,
    DoseGates,
    check_course,
    check_stopped_course,
    gates_for_dose,
    gates_without_order,
)
from msinfusion.planning.courses import CourseOrder, GivenDose
from msinfusion.planning.dose_history import (
    clinic_day,
    doses_given,
    previous_dose_on,
    starts_course,
    with_bookings,
)
from msinfusion.planning.patient_record import PatientRecord

__all__ = [
    "ClinicalRecords",
    "OrderCourse",
    "PatientCourses",
    "retracted_ids",
    "stored_record",
]
"""The use cases, and the projections the web pages import from here."""


class ClinicalRecords:
    """Record and read a patient's clinical entries; decide the gates of a dose."""

    def __init__(
        self,
        access: AuditedAccess,
        catalog: Catalog,
        *,
        new_id: Callable[[str], str],
        centre_tz: tzinfo,
        jurisdiction: str | None = None,
    ) -> None:
        self._access = access
        self._catalog = catalog
        self._new_id = new_id
        self._tz = centre_tz
        self._jurisdiction = jurisdiction
        """The centre's US/EU setting (None: unknown, the strictest); an order's option wins."""

    @property
    def jurisdiction(self) -> str | None:
        """The centre's US/EU setting (None: unknown, the strictest)."""
        return self._jurisdiction

    @property
    def centre_tz(self) -> tzinfo:
        """The centre's clock (clinic days and the times shown)."""
        return self._tz

    def local_day(self, moment: datetime) -> date:
        """The centre's calendar day of ``moment``: gate dates are clinic days, not UTC days."""
        return clinic_day(moment, self._tz)

    # -- writing -----------------------------------------------------------------------------

    def record(
        self, actor: Actor, patient_id: str, kind: str, item: Mapping[str, Any]
    ) -> ClinicalEntry:
        """Store one entry; an override needs ``override_gate`` and is in the actor's name.

        A retraction item naming ``cosigns`` (a pending retraction's id) is that retraction's
        co-signature (``cosign_retraction``)."""
        parsed_kind = entry_kind(kind)
        cosigning = isinstance(item, Mapping) and COSIGNS in item
        if parsed_kind is ClinicalEntryKind.RETRACTION and cosigning:
            return self.cosign_retraction(actor, patient_id, item)
        action = (
            Action.OVERRIDE_GATE
            if parsed_kind is ClinicalEntryKind.OVERRIDE
            else Action.RECORD_CLINICAL
        )
        subject = Subject(
            verb=f"clinical.{parsed_kind.value}", resource_type="patient", resource_id=patient_id
        )
        entry_id = self._new_id("entry")

        def work(uow: UnitOfWork) -> ClinicalEntry:
            uow.patients.get(patient_id)
            context = EntryContext(
                actor=actor,
                patient_id=patient_id,
                today=self.local_day(actor.at),
                find_order=uow.orders.get,
                doses_given=lambda order: self._given(uow, order, dose_before=None),
                entries=lambda: uow.clinical_entries.list_for_patient(patient_id),
            )
            on, data = checked_entry(parsed_kind, item, context)
            if parsed_kind is ClinicalEntryKind.RETRACTION:
                data = held_for_cosignature(uow, actor, patient_id, data, entry_id)
            stored = ClinicalEntry(
                id=entry_id,
                patient_id=patient_id,
                kind=parsed_kind,
                on=on,
                data=data,
                recorded_at=actor.at,
                recorded_by=actor.user_id,
            )
            uow.clinical_entries.add(stored)
            return stored

        return self._access.run(actor, action, subject, work)

    def cosign_retraction(
        self, actor: Actor, patient_id: str, item: Mapping[str, Any]
    ) -> ClinicalEntry:
        """Co-sign a pending retraction (``item``: ``{"cosigns": id}``, optionally the
        ``entry_id`` it retracts); ``retraction_cosign.cosigned`` says what is refused."""
        retraction_id = cosigned_id(item)
        subject = Subject(
            verb="clinical.retraction.cosign", resource_type="patient", resource_id=patient_id
        )
        entry_id = self._new_id("entry")

        def work(uow: UnitOfWork) -> ClinicalEntry:
            uow.patients.get(patient_id)
            return cosigned(
                uow,
                actor,
                patient_id,
                retraction_id,
                entry_id=entry_id,
                on=self.local_day(actor.at),
                retracts=item.get("entry_id"),
            )

        return self._access.run(actor, Action.COSIGN_RETRACTION, subject, work)

    # -- reading -----------------------------------------------------------------------------

    def list_entries(self, actor: Actor, patient_id: str) -> list[ClinicalEntry]:
        subject = Subject(verb="clinical.read", resource_type="patient", resource_id=patient_id)

        def work(uow: UnitOfWork) -> list[ClinicalEntry]:
            uow.patients.get(patient_id)
            return uow.clinical_entries.list_for_patient(patient_id)

        return self._access.run(actor, Action.READ_COURSE, subject, work)

    def courses(
        self, actor: Actor, patient_id: str, *, as_of: date | None = None
    ) -> PatientCourses:
        """Every active order's course as of ``as_of`` (default: today at the centre)."""
        subject = Subject(verb="course.overview", resource_type="patient", resource_id=patient_id)
        day = as_of or self.local_day(actor.at)

        def work(uow: UnitOfWork) -> PatientCourses:
            return self.courses_in(uow, patient_id, day)

        return self._access.run(actor, Action.READ_COURSE, subject, work)

    def flags(
        self, actor: Actor, patient_ids: list[str], *, as_of: date | None = None
    ) -> dict[str, tuple[str, ...]]:
        """Overdue or abnormal monitoring and blocked next doses per patient (for the board);
        patients with nothing to flag are left out."""
        subject = Subject(verb="course.flags", resource_type="patient")
        day = as_of or self.local_day(actor.at)

        def work(uow: UnitOfWork) -> dict[str, tuple[str, ...]]:
            found = {
                pid: self.courses_in(uow, pid, day).flags for pid in dict.fromkeys(patient_ids)
            }
            return {pid: lines for pid, lines in found.items() if lines}

        return self._access.run(actor, Action.READ_COURSE, subject, work)

    def courses_in(
        self, uow: UnitOfWork, patient_id: str, day: date, *, stopped: bool = False
    ) -> PatientCourses:
        """``courses`` inside a caller's unit of work (the board reads many patients at once)."""
        return self.courses_of(self.file_in(uow, patient_id), day, stopped=stopped)

    def file_in(self, uow: UnitOfWork, patient_id: str) -> PatientFile:
        """What the patient's course overview reads, from the caller's unit of work."""
        patient = uow.patients.get(patient_id)
        return PatientFile(
            patient_id=patient_id,
            sex=patient.sex,
            entries=tuple(uow.clinical_entries.list_for_patient(patient_id)),
            orders=tuple(uow.orders.list_for_patient(patient_id)),
            sessions=tuple(uow.sessions.list_for_patient(patient_id)),
        )

    def courses_of(
        self,
        file: PatientFile,
        day: date,
        *,
        monitoring_until: date | None = None,
        stopped: bool = False,
    ) -> PatientCourses:
        """Every active order's course check on ``day`` from a patient's file (no storage read:
        the worklist reads every patient's file in a few queries, ``WorklistUseCases``).
        ``monitoring_until``: monitoring slots only up to there (``check_course``);
        ``stopped``: also each discontinued order's follow-up (``check_stopped_course``)."""
        entries = list(file.entries)
        record = stored_record(entries, file.patient_id, sex=file.sex)
        therapy_of_order = {o.id: o.therapy_id for o in file.orders}
        started = started_infusions(file.sessions, self.local_day)
        recorded = recorded_doses(entries, lambda order_id: therapy_of_order.get(order_id, ""))
        courses: list[OrderCourse] = []
        problems: list[str] = []
        followed: list[OrderCourse] = []
        for order in file.orders:
            is_stopped = order.status is OrderStatus.DISCONTINUED
            if not order.active and not (stopped and is_stopped):
                continue
            try:
                given = doses_given(
                    started,
                    recorded,
                    therapy_id=order.therapy_id,
                    therapy_of=self._therapy_of,
                    since=order.start_date,
                    excluding_session_id=None,
                )
                check = (check_stopped_course if not order.active else check_course)(
                    course_order(order, given),
                    record,
                    as_of=day,
                    jurisdiction=self._jurisdiction,
                    monitoring_until=monitoring_until,
                )
            except (InvalidCourseOrder, ArithmeticError) as error:
                problems.append(f"{order.therapy_id} order {order.id}: {error}")
                continue
            (courses if order.active else followed).append(OrderCourse(order=order, check=check))
        return PatientCourses(
            patient_id=file.patient_id,
            as_of=day,
            entries=tuple(entries),
            retracted_ids=retracted_ids(entries),
            cosignatures=cosignatures(entries),
            courses=tuple(courses),
            problems=tuple(problems),
            stopped=tuple(followed),
        )

    def order_check_in(self, uow: UnitOfWork, order: TherapyOrder, day: date) -> CourseCheck:
        """One order's course check as of ``day``, active or not (the ledger reads stopped
        courses too: a discontinued one as ``check_stopped_course``, its follow-up counting
        from the doses given), inside a caller's unit of work."""
        record = self.stored_record_in(uow, order.patient_id)
        stopped = order.status is OrderStatus.DISCONTINUED
        return (check_stopped_course if stopped else check_course)(
            self.course_order(uow, order), record, as_of=day, jurisdiction=self._jurisdiction
        )

    def stored_record_in(self, uow: UnitOfWork, patient_id: str) -> PatientRecord:
        return stored_record(
            uow.clinical_entries.list_for_patient(patient_id),
            patient_id,
            sex=_sex_of(uow, patient_id),
        )

    def course_order(self, uow: UnitOfWork, order: TherapyOrder) -> CourseOrder:
        """The planning core's order of a stored order, with the doses given so far."""
        return course_order(order, self._given(uow, order, dose_before=None))

    # -- deciding a dose ---------------------------------------------------------------------

    def dose_gates(
        self,
        uow: UnitOfWork,
        *,
        patient_id: str,
        protocol_id: str,
        dose_number: int,
        on: date,
        order_id: str | None,
        booked_count: bool,
        course_day: int | None = None,
        excluding_session_id: str | None = None,
    ) -> DoseGates:
        """The gates of a dose booked or started on ``on``.

        The course is the named order, else the patient's active order for the protocol's
        therapy (the latest started on or before ``on``). ``booked_count``: at booking, doses
        of the course already booked before this one count as given on their booked dates, so
        day 1 and day 15 can be booked together; at the start only doses given count, not
        the session starting (``excluding_session_id``).
        """
        therapy_id = self._catalog.get_protocol(protocol_id).therapy_id
        record = stored_record(
            uow.clinical_entries.list_for_patient(patient_id),
            patient_id,
            sex=_sex_of(uow, patient_id),
        )
        order = (
            uow.orders.get(order_id)
            if order_id is not None
            else order_for_dose(uow.orders.list_for_patient(patient_id), therapy_id, on)
        )
        if order is None:
            history = self._given_for_therapy(
                uow, patient_id, therapy_id, since=None, excluding=excluding_session_id
            )
            return gates_without_order(
                therapy_id,
                record,
                dose_number=dose_number,
                on=on,
                previous_dose_on=previous_dose_on(history, on),
                course_start=starts_course(dose_number, course_day),
                jurisdiction=self._jurisdiction,
            )
        given = self._given(
            uow,
            order,
            dose_before=dose_number if booked_count else None,
            excluding=excluding_session_id,
        )
        return gates_for_dose(
            course_order(order, given),
            record,
            dose_number=dose_number,
            on=on,
            jurisdiction=self._jurisdiction,
        )

    def _therapy_of(self, protocol_id: str) -> str:
        return self._catalog.get_protocol(protocol_id).therapy_id

    def _given(
        self,
        uow: UnitOfWork,
        order: TherapyOrder,
        *,
        dose_before: int | None,
        excluding: str | None = None,
    ) -> tuple[GivenDose, ...]:
        """Doses of ``order``'s course given (sessions started, doses recorded as given
        elsewhere); with ``dose_before``, also live bookings of earlier dose numbers."""
        given = self._given_for_therapy(
            uow, order.patient_id, order.therapy_id, since=order.start_date, excluding=excluding
        )
        if dose_before is None:
            return given
        return with_bookings(
            given,
            booked_doses(uow.appointments.list_for_patient(order.patient_id), self.local_day),
            therapy_id=order.therapy_id,
            therapy_of=self._therapy_of,
            dose_before=dose_before,
            since=order.start_date,
        )

    def _given_for_therapy(
        self,
        uow: UnitOfWork,
        patient_id: str,
        therapy_id: str,
        *,
        since: date | None,
        excluding: str | None = None,
    ) -> tuple[GivenDose, ...]:
        """Doses whose infusion started in a session, then doses recorded as given elsewhere."""
        started = started_infusions(uow.sessions.list_for_patient(patient_id), self.local_day)
        recorded = recorded_doses(
            uow.clinical_entries.list_for_patient(patient_id),
            lambda order_id: uow.orders.get(order_id).therapy_id,
        )
        return doses_given(
            started,
            recorded,
            therapy_id=therapy_id,
            therapy_of=self._therapy_of,
            since=since,
            excluding_session_id=excluding,
        )


def _sex_of(uow: UnitOfWork, patient_id: str) -> str | None:
    try:
        return uow.patients.get(patient_id).sex
    except RecordNotFound:
        return None

"""What the FHIR adapter reads: the centre's record through the application layer, as one
caller (``Actor``) sees it. Never a second store, never a unit of work of its own.

Patients, chairs and orders come from ``RecordQueries``; dose calendars and course checks from
``CourseUseCases``; clinical entries from ``ClinicalRecords``; sessions, signing users,
appointments and contraindications from ``fhir_reads.RecordListing``. Each call is one audited
read with its permission. Reads are cached per request (one ``Record`` per request), so a
search that builds several resource types from the same sessions reads them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msinfusion.application.audit import Actor
from msinfusion.application.centre import Centre
from msinfusion.application.fhir_reads import (
    SIGNING_ROLES,
    Contraindication,
    RecordListing,
    SessionRecord,
    Signer,
)
from msinfusion.application.records import (
    Appointment,
    Chair,
    ClinicalEntry,
    Patient,
    TherapyOrder,
)
from msinfusion.catalog.model import Protocol, Therapy
from msinfusion.errors import CatalogError, InvalidCourseOrder, PlanningError
from msinfusion.planning.course_check import CourseCheck
from msinfusion.planning.courses import CourseCalendar

__all__ = ["SIGNING_ROLES", "CoursePlan", "Record", "SessionRecord", "Signer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CoursePlan:
    """An order's course: its calendar, and for an active order the check of today (gates of
    the next dose, monitoring); None where the course cannot be planned."""

    order: TherapyOrder
    calendar: CourseCalendar | None
    check: CourseCheck | None


class Record:
    """The centre's record as ``actor`` may read it; every read is audited."""

    def __init__(self, centre: Centre, actor: Actor) -> None:
        self.centre = centre
        self.actor = actor
        self.listing = RecordListing(centre.access, centre.sessions.streams)
        self._cache: dict[tuple[str, Any], Any] = {}

    def _cached(self, key: tuple[str, Any], read: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]

    # -- records -------------------------------------------------------------------------------

    def patients(self) -> list[Patient]:
        found: list[Patient] = self._cached(
            ("patients", None), lambda: self.centre.queries.list_patients(self.actor)
        )
        return found

    def patient(self, patient_id: str) -> Patient:
        return self.centre.queries.get_patient(self.actor, patient_id)

    def chairs(self) -> list[Chair]:
        found: list[Chair] = self._cached(
            ("chairs", None), lambda: self.centre.queries.list_chairs(self.actor)
        )
        return found

    def orders(self, patient_id: str | None = None) -> list[TherapyOrder]:
        found: list[TherapyOrder] = self._cached(
            ("orders", patient_id),
            lambda: self.centre.queries.list_orders(self.actor, patient_id=patient_id),
        )
        return found

    def order(self, order_id: str) -> TherapyOrder:
        return self.centre.queries.get_order(self.actor, order_id)

    def calendar(self, order_id: str) -> CourseCalendar | None:
        """The order's dose calendar (which protocol each dose runs under), or None when the
        course cannot be planned (the order then lists its therapy's protocols)."""
        try:
            return self.centre.courses.get_calendar(self.actor, order_id, as_of=None)
        except (PlanningError, CatalogError):  # InvalidCourseOrder is a PlanningError
            return None

    def course(self, order: TherapyOrder) -> CoursePlan:
        """The order's calendar as of today and, while it is active, today's course check."""
        check = None
        if order.active:
            try:
                check = self.centre.courses.check(
                    self.actor, order.patient_id, {"order_id": order.id}
                )
            except (InvalidCourseOrder, PlanningError, CatalogError):
                check = None
        calendar = check.calendar if check is not None else self.calendar(order.id)
        return CoursePlan(order=order, calendar=calendar, check=check)

    def clinical_entries(self, patient_id: str) -> list[ClinicalEntry]:
        found: list[ClinicalEntry] = self._cached(
            ("entries", patient_id),
            lambda: self.centre.clinical.list_entries(self.actor, patient_id),
        )
        return found

    def signers(self) -> list[Signer]:
        found: list[Signer] = self._cached(
            ("signers", None), lambda: self.listing.list_signers(self.actor)
        )
        return found

    def appointments(self, patient_id: str | None = None) -> list[Appointment]:
        found: list[Appointment] = self._cached(
            ("appointments", patient_id),
            lambda: self.listing.list_appointments(self.actor, patient_id=patient_id),
        )
        return found

    def contraindications(self, patient_id: str | None = None) -> list[Contraindication]:
        found: list[Contraindication] = self._cached(
            ("contraindications", patient_id),
            lambda: self.listing.list_contraindications(self.actor, patient_id=patient_id),
        )
        return found

    # -- catalog (reference data: no patient data, no audit) -----------------------------------

    def protocol(self, protocol_id: str) -> Protocol:
        return self.centre.catalog.protocol(protocol_id)

    def therapy(self, therapy_id: str) -> Therapy:
        return self.centre.sessions.streams.catalog.get_therapy(therapy_id)

    def therapy_or_none(self, therapy_id: str) -> Therapy | None:
        try:
            return self.therapy(therapy_id)
        except CatalogError:
            return None

    # -- sessions ------------------------------------------------------------------------------

    def session(self, session_id: str) -> SessionRecord:
        """One session (``SessionNotFound`` if there is none)."""
        found: SessionRecord = self._cached(
            ("session", session_id), lambda: self.listing.get_session(self.actor, session_id)
        )
        return found

    def sessions(self, *, patient_id: str | None = None) -> list[SessionRecord]:
        """Every session (of one patient), in session id order, in one audited read."""
        found: list[SessionRecord] = self._cached(
            ("sessions", patient_id),
            lambda: self.listing.list_sessions(self.actor, patient_id=patient_id),
        )
        return found

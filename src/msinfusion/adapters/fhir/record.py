"""What the FHIR adapter reads: the centre's record through the application layer, as one
caller (``Actor``) sees it. Never a second store.

Patients, chairs and orders come from the audited use cases (``RecordQueries``,
``CourseUseCases``). Sessions and the users who sign have no list use case yet, so they are read
the way the patient page reads a patient's appointments (``ui/pages.py``): one
``AuditedAccess.run`` with the permission, the unit of work and the audit entry, folding each
stream with the session engine's own ``SessionStreams`` and views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from msinfusion.application.audit import Actor, Subject
from msinfusion.application.centre import Centre
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import Appointment, Chair, Patient, Role, TherapyOrder
from msinfusion.application.session_streams import Stream
from msinfusion.application.sessions import live_view
from msinfusion.catalog.model import Protocol, Therapy
from msinfusion.errors import CatalogError, PlanningError, RecordNotFound
from msinfusion.planning.courses import CourseCalendar
from msinfusion.session.queries import SessionView

SIGNING_ROLES = frozenset({Role.NURSE, Role.PHYSICIAN})
"""The roles whose users sign clinical entries: session commands, orders, clinical entries."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Signer:
    """A user who signs the record, without anything secret (no hash, no token)."""

    user_id: str
    username: str
    display_name: str | None
    role: Role
    active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    """One infusion session as read: its stream (events in clinical order with their stream
    numbers, folded state, protocol), the view at the read time (rate segments, volumes), the
    appointment it came from and who signed its entries (user name -> user id)."""

    session_id: str
    stream: Stream
    view: SessionView
    appointment: Appointment | None
    patient: Patient | None
    signers: Mapping[str, str]

    @property
    def patient_id(self) -> str:
        return self.stream.state.patient_id

    @property
    def synthetic(self) -> bool:
        return self.patient is not None and self.patient.synthetic


class Record:
    """The centre's record as ``actor`` may read it; every read is audited."""

    def __init__(self, centre: Centre, actor: Actor) -> None:
        self.centre = centre
        self.actor = actor

    # -- records -------------------------------------------------------------------------------

    def patients(self) -> list[Patient]:
        return self.centre.queries.list_patients(self.actor)

    def patient(self, patient_id: str) -> Patient:
        return self.centre.queries.get_patient(self.actor, patient_id)

    def chairs(self) -> list[Chair]:
        return self.centre.queries.list_chairs(self.actor)

    def orders(self, patient_id: str | None = None) -> list[TherapyOrder]:
        return self.centre.queries.list_orders(self.actor, patient_id=patient_id)

    def order(self, order_id: str) -> TherapyOrder:
        return self.centre.queries.get_order(self.actor, order_id)

    def calendar(self, order_id: str) -> CourseCalendar | None:
        """The order's dose calendar (which protocol each dose runs under), or None when the
        course cannot be planned (the order then lists its therapy's protocols)."""
        try:
            return self.centre.courses.get_calendar(self.actor, order_id, as_of=None)
        except (PlanningError, CatalogError):  # InvalidCourseOrder is a PlanningError
            return None

    def signers(self) -> list[Signer]:
        """Users of the signing roles (``read_session``: whoever reads the record reads who
        signed it)."""
        subject = Subject(verb="practitioner.list", resource_type="user")

        def work(uow: UnitOfWork) -> list[Signer]:
            return [
                Signer(
                    user_id=u.id,
                    username=u.username,
                    display_name=u.display_name,
                    role=u.role,
                    active=u.active,
                )
                for u in uow.users.list()
                if u.role in SIGNING_ROLES
            ]

        return self.centre.access.run(self.actor, Action.READ_SESSION, subject, work)

    # -- catalog (reference data: no patient data, no audit) -----------------------------------

    def protocol(self, protocol_id: str) -> Protocol:
        return self.centre.catalog.protocol(protocol_id)

    def therapy(self, therapy_id: str) -> Therapy:
        return self.centre.sessions.streams.catalog.get_therapy(therapy_id)

    # -- sessions ------------------------------------------------------------------------------

    def session(self, session_id: str) -> SessionRecord:
        """One session (``SessionNotFound`` if there is none)."""
        subject = Subject(verb="session.read", resource_type="session", resource_id=session_id)
        return self.centre.access.run(
            self.actor,
            Action.READ_SESSION,
            subject,
            lambda uow: self._read(uow, session_id, _signers_of(uow)),
        )

    def sessions(self, *, patient_id: str | None = None) -> list[SessionRecord]:
        """Every session (of one patient), in session id order, in one audited read."""
        subject = Subject(
            verb="session.list",
            resource_type="patient" if patient_id else "session",
            resource_id=patient_id,
        )

        def work(uow: UnitOfWork) -> list[SessionRecord]:
            summaries = (
                uow.sessions.list()
                if patient_id is None
                else uow.sessions.list_for_patient(patient_id)
            )
            signers = _signers_of(uow)
            return [self._read(uow, s.session_id, signers) for s in summaries if s.version > 0]

        return self.centre.access.run(self.actor, Action.READ_SESSION, subject, work)

    def _read(self, uow: UnitOfWork, session_id: str, signers: Mapping[str, str]) -> SessionRecord:
        streams = self.centre.sessions.streams
        stream = streams.read_in(uow, session_id)
        view = live_view(stream, self.actor.at, UTC, late_after=streams.policy.late_after)
        patient = None
        if stream.state.patient_id:
            try:
                patient = uow.patients.get(stream.state.patient_id)
            except RecordNotFound:
                patient = None
        return SessionRecord(
            session_id=session_id,
            stream=stream,
            view=view,
            appointment=uow.appointments.find_by_session(session_id),
            patient=patient,
            signers=signers,
        )


def _signers_of(uow: UnitOfWork) -> dict[str, str]:
    return {u.username: u.id for u in uow.users.list()}

"""Read use cases for standard-format exports (FHIR): sessions, signing users, appointments and
the therapies a reaction made contraindicated, each in one audited read.

The FHIR adapter builds its resources from these and from ``RecordQueries``,
``ClinicalRecords`` and ``CourseUseCases``; it never opens a unit of work itself. Nothing
secret leaves here: a signing user is its id, user name, display name, role and whether it is
active (no password hash, no token).

* ``list_sessions`` / ``get_session``: every session with events (optionally one patient's),
  folded with the session engine's ``SessionStreams`` and viewed at the request time
  (``live_view``), with its appointment, its patient and who may have signed it.
* ``list_signers``: users of the signing roles (nurse, physician).
* ``list_appointments``: every appointment (optionally one patient's), in start order.
* ``list_contraindications``: per patient, each therapy ``reaction_history`` says is
  contraindicated, with the reaction that discontinued it when a session recorded one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.reaction_history import reaction_history
from msinfusion.application.records import Appointment, Patient, Role
from msinfusion.application.session_streams import SessionStreams, Stream
from msinfusion.application.sessions import live_view
from msinfusion.errors import ProtocolNotFound, RecordNotFound
from msinfusion.session.events import ReactionRecorded
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
    appointment it came from and the centre's user names (user name -> user id)."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Contraindication:
    """A therapy the patient may not be given again, and why: the reaction that discontinued
    it (``session_id``, its stream number ``sequence`` and event) or the patient record."""

    patient_id: str
    therapy_id: str
    because: str
    session_id: str | None = None
    sequence: int | None = None
    reaction: ReactionRecorded | None = None


class RecordListing:
    """Audited listings of sessions, signing users, appointments and contraindications."""

    def __init__(self, access: AuditedAccess, streams: SessionStreams) -> None:
        self._access = access
        self._streams = streams

    def list_signers(self, actor: Actor) -> list[Signer]:
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

        return self._access.run(actor, Action.READ_SESSION, subject, work)

    def get_session(self, actor: Actor, session_id: str) -> SessionRecord:
        """One session (``SessionNotFound`` if there is none)."""
        subject = Subject(verb="session.read", resource_type="session", resource_id=session_id)
        return self._access.run(
            actor,
            Action.READ_SESSION,
            subject,
            lambda uow: self._read(uow, actor, session_id, _user_ids(uow)),
        )

    def list_sessions(self, actor: Actor, *, patient_id: str | None = None) -> list[SessionRecord]:
        """Every session with events (of one patient), in session id order, in one read."""
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
            users = _user_ids(uow)
            return [
                self._read(uow, actor, s.session_id, users)
                for s in sorted(summaries, key=lambda s: s.session_id)
                if s.version > 0
            ]

        return self._access.run(actor, Action.READ_SESSION, subject, work)

    def list_appointments(
        self, actor: Actor, *, patient_id: str | None = None
    ) -> list[Appointment]:
        """Every appointment (of one patient), by start time then id."""
        subject = Subject(
            verb="appointment.list",
            resource_type="patient" if patient_id else "appointment",
            resource_id=patient_id,
        )

        def work(uow: UnitOfWork) -> list[Appointment]:
            found = (
                uow.appointments.list()
                if patient_id is None
                else uow.appointments.list_for_patient(patient_id)
            )
            return sorted(found, key=lambda a: (a.starts_at, a.id))

        return self._access.run(actor, Action.READ_APPOINTMENT, subject, work)

    def list_contraindications(
        self, actor: Actor, *, patient_id: str | None = None
    ) -> list[Contraindication]:
        """Therapies contraindicated for each patient (or one), from ``reaction_history``."""
        subject = Subject(
            verb="contraindication.list",
            resource_type="patient" if patient_id else "session",
            resource_id=patient_id,
        )

        def work(uow: UnitOfWork) -> list[Contraindication]:
            patients = uow.patients.list() if patient_id is None else [uow.patients.get(patient_id)]
            found: list[Contraindication] = []
            for patient in sorted(patients, key=lambda p: p.id):
                history = reaction_history(uow, self._streams, patient)
                reactions = self._discontinuing_reactions(uow, patient.id)
                for therapy_id in sorted(history):
                    known = history[therapy_id]
                    if not known.contraindicated:
                        continue
                    session_id, sequence, reaction = reactions.get(therapy_id, (None, None, None))
                    found.append(
                        Contraindication(
                            patient_id=patient.id,
                            therapy_id=therapy_id,
                            because=known.because,
                            session_id=session_id,
                            sequence=sequence,
                            reaction=reaction,
                        )
                    )
            return found

        return self._access.run(actor, Action.READ_SESSION, subject, work)

    def _discontinuing_reactions(
        self, uow: UnitOfWork, patient_id: str
    ) -> dict[str, tuple[str, int, ReactionRecorded]]:
        """Therapy id -> the first reaction that discontinued it (session, stream number)."""
        found: dict[str, tuple[str, int, ReactionRecorded]] = {}
        for summary in sorted(
            uow.sessions.list_for_patient(patient_id), key=lambda s: s.session_id
        ):
            if not summary.protocol_id:
                continue
            try:
                therapy_id = self._streams.catalog.get_protocol(summary.protocol_id).therapy_id
            except ProtocolNotFound:
                continue
            if therapy_id in found:
                continue
            chart = self._streams.read_in(uow, summary.session_id).chart
            for sequence, event in zip(chart.sequences(), chart.events, strict=True):
                if isinstance(event, ReactionRecorded) and event.discontinue_therapy:
                    found[therapy_id] = (summary.session_id, sequence, event)
                    break
        return found

    def _read(
        self, uow: UnitOfWork, actor: Actor, session_id: str, users: Mapping[str, str]
    ) -> SessionRecord:
        stream = self._streams.read_in(uow, session_id)
        view = live_view(stream, actor.at, UTC, late_after=self._streams.policy.late_after)
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
            signers=users,
        )


def _user_ids(uow: UnitOfWork) -> dict[str, str]:
    """User name -> user id (who signed an entry is stored by user name)."""
    return {u.username: u.id for u in uow.users.list()}

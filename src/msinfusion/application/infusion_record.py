"""The printable infusion record of one session, and its discharge summary.

Read from the session's stored events (the same view the chairside screen shows,
``sessions.live_view``) in one audited transaction (``session.record.read``): every entry with
both its times — when it happened and when it was charted — the rate intervals with their
volumes, vital signs, reactions, medications, and every signature by the user's name (the
stored user's display name, with the user name; never an opaque id). The dose's pharmacy row
(``pharmacy_records``) gives the bag's id and who verified, prepared and checked it. The
discharge summary adds the patient's next booked appointment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from fractions import Fraction

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.permissions import Action
from msinfusion.application.pharmacy_records import DosePreparation, current_preparation
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import Appointment, AppointmentStatus, Patient
from msinfusion.application.session_streams import SessionStreams
from msinfusion.application.sessions import live_view
from msinfusion.errors import RecordNotFound
from msinfusion.session import events as ev
from msinfusion.session.queries import SessionView
from msinfusion.session.segments import RateSegment
from msinfusion.session.timeline import TimelineEntry


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordLine:
    """One charted entry with its event: both times and the signer's name."""

    entry: TimelineEntry
    event: ev.Event
    signed_by: str

    @property
    def charted_later(self) -> bool:
        """Charted a minute or more after it happened (both times are shown either way)."""
        recorded = self.entry.recorded_at
        return recorded is not None and (recorded - self.entry.at).total_seconds() >= 60


@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionRecord:
    session_id: str
    version: int
    view: SessionView
    lines: tuple[RecordLine, ...]
    patient: Patient | None
    appointment: Appointment | None
    preparation: DosePreparation | None
    names: Mapping[str, str]
    """User id or user name -> "Display Name (username)" for every user."""
    next_appointment: Appointment | None
    printed_at: datetime

    def name(self, user: str | None) -> str:
        if not user:
            return "—"
        return self.names.get(user, user)

    def of(self, *types: type[ev.Event]) -> tuple[RecordLine, ...]:
        return tuple(line for line in self.lines if isinstance(line.event, types))

    @property
    def vitals(self) -> tuple[RecordLine, ...]:
        return self.of(ev.VitalsRecorded)

    @property
    def medications(self) -> tuple[RecordLine, ...]:
        return self.of(ev.PremedicationGiven, ev.RescueMedicationGiven)

    @property
    def reactions(self) -> tuple[RecordLine, ...]:
        return self.of(ev.ReactionRecorded, ev.ReactionResolved)

    @property
    def rates(self) -> tuple[RateSegment, ...]:
        return self.view.segments

    @property
    def volume_ml(self) -> Fraction:
        return sum((s.volume_ml for s in self.view.segments), Fraction(0))

    @property
    def discharge_note(self) -> str | None:
        found = self.of(ev.PatientDischarged)
        if not found:
            return None
        event = found[-1].event
        assert isinstance(event, ev.PatientDischarged)
        return event.note or ""


def user_names(uow: UnitOfWork) -> dict[str, str]:
    """Every user's signature text, by id and by user name."""
    names: dict[str, str] = {}
    for user in uow.users.list():
        label = f"{user.display_name} ({user.username})" if user.display_name else user.username
        names[user.id] = label
        names[user.username] = label
    return names


def next_appointment(
    uow: UnitOfWork, patient_id: str, after: datetime, excluding: str | None
) -> Appointment | None:
    """The patient's first booked appointment after ``after`` (not this one)."""
    for appointment in uow.appointments.list_for_patient(patient_id):
        if (
            appointment.id != excluding
            and appointment.status is AppointmentStatus.BOOKED
            and appointment.starts_at > after
        ):
            return appointment
    return None


class InfusionRecords:
    """Read a session's printable record (see the module docstring)."""

    def __init__(self, access: AuditedAccess, streams: SessionStreams) -> None:
        self._access = access
        self._streams = streams

    def get_record(self, actor: Actor, session_id: str, *, display_tz: tzinfo) -> InfusionRecord:
        subject = Subject(
            verb="session.record.read", resource_type="session", resource_id=session_id
        )

        def work(uow: UnitOfWork) -> InfusionRecord:
            stream = self._streams.read_in(uow, session_id)
            view = live_view(
                stream, actor.at, display_tz, late_after=self._streams.policy.late_after
            )
            names = user_names(uow)
            lines = tuple(
                RecordLine(entry=entry, event=event, signed_by=names.get(entry.user, entry.user))
                for entry, event in zip(view.entries, stream.events, strict=False)
            )
            patient = _patient(uow, stream.state.patient_id)
            appointment = uow.appointments.find_by_session(session_id)
            preparation = None
            if appointment is not None:
                rows = uow.preparations.list_for_appointment(appointment.id)
                preparation = current_preparation(rows)
            upcoming = None
            if patient is not None:
                since = stream.state.last_at or actor.at
                upcoming = next_appointment(
                    uow, patient.id, since, None if appointment is None else appointment.id
                )
            return InfusionRecord(
                session_id=session_id,
                version=stream.version,
                view=view,
                lines=lines,
                patient=patient,
                appointment=appointment,
                preparation=preparation,
                names=names,
                next_appointment=upcoming,
                printed_at=actor.at,
            )

        return self._access.run(actor, Action.READ_SESSION, subject, work)


def _patient(uow: UnitOfWork, patient_id: str) -> Patient | None:
    if not patient_id:
        return None
    try:
        return uow.patients.get(patient_id)
    except RecordNotFound:
        return None

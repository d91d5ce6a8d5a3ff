"""Shared builders for the board tests: a day of appointments with sessions recorded through
the command path, and the board a full replay of every stream gives (the oracle)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction

from msinfusion.application.board import BoardRow
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import Appointment, Chair, Patient
from msinfusion.application.session_streams import entries_of
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.model import Severity
from msinfusion.errors import CommandRefused, ProtocolNotFound
from msinfusion.session import commands as cmd
from msinfusion.session.chart import Chart, extend
from msinfusion.session.queries import view_at
from msinfusion.session.simulate import ScriptedReaction, simulate
from tests.unit.session.helpers import START, protocol

PROTOCOL = "ocrelizumab-600-standard"
VISITS = {
    "plain": simulate(protocol(PROTOCOL), START, dose_number=3).commands,
    "reaction": simulate(
        protocol(PROTOCOL),
        START,
        [ScriptedReaction(minute=Fraction(45), severity=Severity.MODERATE)],
        dose_number=3,
    ).commands,
    "life-threatening": simulate(
        protocol(PROTOCOL),
        START,
        [ScriptedReaction(minute=Fraction(30), severity=Severity.LIFE_THREATENING)],
        dose_number=3,
    ).commands,
}
_PLAIN = VISITS["plain"]
VISITS["paused"] = (
    *_PLAIN[:6],
    cmd.PauseInfusion(at=_PLAIN[5].at + timedelta(minutes=10), user="nurse-a", reason="line"),
    cmd.ResumeInfusion(
        at=_PLAIN[5].at + timedelta(minutes=40), user="nurse-a", rate_ml_per_h=Fraction(40)
    ),
)
PATIENTS = ("p-1", "p-2", "p-3")


@dataclass(frozen=True, slots=True, kw_only=True)
class Visit:
    """One appointment: whose, which scripted visit, how many of its commands were charted
    (0: booked, never opened; -1: opened, not checked in) and extra vital signs (minute, HR)."""

    patient: str
    script: str
    charted: int
    vitals: tuple[tuple[int, int], ...] = ()


def _vitals(minute: int, heart_rate: int) -> cmd.RecordVitals:
    return cmd.RecordVitals(
        at=START + timedelta(minutes=minute),
        user="nurse-a",
        heart_rate_bpm=Fraction(heart_rate),
        spo2_pct=Fraction(97),
    )


def _commands(visit: Visit) -> list[cmd.Command]:
    script = [
        replace(c, patient_id=visit.patient) if isinstance(c, cmd.CheckIn) else c
        for c in VISITS[visit.script][: max(visit.charted, 0)]
    ]
    if not script:
        return []
    extra = [_vitals(m, hr) for m, hr in visit.vitals]
    return sorted([*script, *extra], key=lambda c: c.at)


def record_day(
    service: SessionService, units: Callable[[], UnitOfWork], visits: Sequence[Visit]
) -> list[Appointment]:
    """Store the patients, a chair per visit and the visits' appointments and sessions."""
    with units() as uow:
        for pid in PATIENTS:
            uow.patients.add(Patient(id=pid, display_name=f"Patient {pid}", synthetic=pid == "p-3"))
        for number in range(len(visits)):
            uow.chairs.add(Chair(id=f"c-{number}", name=f"Chair {number}"))
        uow.commit()
    appointments = []
    for number, visit in enumerate(visits):
        session_id = None
        if visit.charted != 0:
            session_id = service.create_session()
            for command in _commands(visit):
                with contextlib.suppress(CommandRefused):  # a reading after the discharge
                    service.handle(session_id, command)
        appointments.append(
            Appointment(
                id=f"a-{number}",
                patient_id=visit.patient,
                chair_id=f"c-{number}",
                protocol_id=PROTOCOL,
                dose_number=3,
                starts_at=START + timedelta(minutes=number),
                ends_at=START + timedelta(hours=5),
                session_id=session_id,
            )
        )
    with units() as uow:
        for appointment in appointments:
            uow.appointments.add(appointment)
        uow.commit()
    return appointments


def _replayed(uow: UnitOfWork, session_id: str) -> Chart:
    stored = uow.events.read(session_id)
    return extend(Chart(), entries_of(stored, first_sequence=1), protocol(PROTOCOL))


def oracle_board(
    uow: UnitOfWork, appointments: Sequence[Appointment], now: datetime, display_tz: tzinfo
) -> list[BoardRow]:
    """The board from full views: every stream replayed from its stored events, its view at
    ``now`` (or at its last event when that is later) by ``view_at``, and each patient's
    contraindications from a replay of every session of theirs."""
    catalog = shipped_catalog()
    rows = []
    for a in appointments:
        patient = uow.patients.get(a.patient_id)
        contraindicated = set(patient.contraindicated_therapy_ids)
        for summary in uow.sessions.list_for_patient(patient.id):
            state = _replayed(uow, summary.session_id).state
            with contextlib.suppress(ProtocolNotFound):
                if state.therapy_contraindicated:
                    contraindicated.add(catalog.get_protocol(state.protocol_id).therapy_id)
        view = None
        if a.session_id is not None:
            chart = _replayed(uow, a.session_id)
            last = chart.state.last_at
            at = None if last is not None and last > now else now
            found = protocol(chart.state.protocol_id) if chart.state.protocol_id else None
            view = view_at(
                chart.events, found, at, display_tz=display_tz, sequences=chart.sequences()
            )
        rows.append(
            BoardRow(
                appointment=a,
                patient=replace(
                    patient, contraindicated_therapy_ids=tuple(sorted(contraindicated))
                ),
                chair=uow.chairs.get(a.chair_id),
                session=view,
            )
        )
    return rows

"""Shared builders for session tests: a clock, a service, and a session started by the book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from msinfusion.application import SessionService
from msinfusion.bootstrap import MEMORY, build_unit_of_work_factory
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.formulary import shipped_formulary
from msinfusion.catalog.model import Protocol
from msinfusion.session import commands as cmd
from msinfusion.session.medication import premedication_choices
from msinfusion.session.rules import required_premedications, window_bounds

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
"""Drug start of every worked scenario: minute 0."""


def memory_sessions() -> SessionService:
    """The session engine on a fresh in-memory store, with the shipped catalog."""
    return SessionService(shipped_catalog(), unit_of_work=build_unit_of_work_factory(MEMORY))


def at(minute: float | Fraction) -> datetime:
    """Clock time ``minute`` minutes after the drug start."""
    return START + timedelta(microseconds=round(Fraction(minute) * 60_000_000))


def protocol(protocol_id: str) -> Protocol:
    return shipped_catalog().get_protocol(protocol_id)


def checked_in(
    protocol_id: str, *, dose_number: int | None = None, course_day: int | None = None
) -> tuple[SessionService, str]:
    """A session checked in 150 min before the start with a passed assessment."""
    service = memory_sessions()
    session = service.create_session()
    p = protocol(protocol_id)
    service.handle(
        session,
        cmd.CheckIn(
            at=at(-150),
            user="nurse-a",
            patient_id="p-001",
            protocol_id=protocol_id,
            dose_number=dose_number or p.eligibility.min_dose_number,
            course_day=course_day,
        ),
    )
    service.handle(session, cmd.RecordAssessment(at=at(-145), user="nurse-a", passed=True))
    return service, session


def premedicate(
    service: SessionService, session: str, protocol_id: str, course_day: int | None = None
) -> None:
    """Give every required premedication at the lower end of its window (least minutes before)."""
    p = protocol(protocol_id)
    doses = []
    for premedication in required_premedications(p, course_day):
        least, most = window_bounds(premedication)
        lead = least if most is None else (least + most) / 2
        doses.append((lead, premedication_choices(premedication, shipped_formulary())[0]))
    for lead, choice in sorted(doses, key=lambda d: d[0], reverse=True):
        service.handle(
            session,
            cmd.GivePremedication(
                at=at(-lead), user="nurse-a", drug=choice.drug, dose=choice.dose, route=choice.route
            ),
        )


def started(
    protocol_id: str, *, dose_number: int | None = None, course_day: int | None = None
) -> tuple[SessionService, str]:
    """Checked in, premedicated in window, drug started at minute 0 at the first ladder rate."""
    service, session = checked_in(protocol_id, dose_number=dose_number, course_day=course_day)
    premedicate(service, session, protocol_id, course_day)
    first = Fraction(protocol(protocol_id).ladder.steps[0].rate_ml_per_h)
    service.handle(session, cmd.StartInfusion(at=at(0), user="nurse-a", rate_ml_per_h=first))
    return service, session


def change_rate(
    service: SessionService, session: str, minute: float, rate: float, **extra: str
) -> None:
    service.handle(
        session,
        cmd.ChangeRate(at=at(minute), user="nurse-a", rate_ml_per_h=Fraction(str(rate)), **extra),
    )

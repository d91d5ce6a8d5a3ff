"""A demonstration centre: synthetic patients, chairs, a day of appointments, live sessions.

Everything is synthetic and says so ("Synthetic Patient 01"); numbers come from a seeded random
generator so two runs with the same ``seed`` and ``now`` give the same centre. Appointments are
spread around ``now`` (from about four hours before to three hours after) so the board shows
sessions at every stage: discharged, in observation, infusing, checked in, and still booked.
Each session is driven by the engine's own simulation (``session.simulate``) up to ``now``,
through the same use cases the API calls. One patient has a mild reaction. Each patient has a
synthetic course history and screening record (``demo_history``) so that the pre-treatment
gates of the booked dose pass — except one missing pregnancy test, shown on the patient page.

Demo users (one per role) get random passwords, returned once to be printed once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from msinfusion.application.accounts import Principal, generate_password
from msinfusion.application.audit import Actor, system_actor
from msinfusion.application.centre import Centre
from msinfusion.application.demo_history import DEMO_OPTIONS, course_for, record_history
from msinfusion.application.queries import day_bounds
from msinfusion.application.records import Appointment, Chair, Patient, PatientIdentifier, Role
from msinfusion.catalog.model import Protocol, Severity
from msinfusion.catalog.registry import Catalog, shipped_catalog
from msinfusion.errors import DuplicateRecord, MsinfusionError
from msinfusion.planning import after, plan_infusion
from msinfusion.session.commands import CheckIn
from msinfusion.session.simulate import ScriptedReaction, simulate

PATIENTS = 10
CHAIRS = 6
FIRST_START_BEFORE_NOW = timedelta(hours=4)
STAGGER = timedelta(minutes=40)
REACTION_PATIENT = 3
"""The (0-based) patient whose infusion has a mild reaction 40 minutes in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoUser:
    username: str
    role: Role
    password: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoCentre:
    users: tuple[DemoUser, ...]
    patients: int
    chairs: int
    appointments: int
    sessions: int


def load_demo(
    centre: Centre,
    *,
    now: datetime,
    seed: int = 2026,
    catalog: Catalog | None = None,
    new_password: Callable[[], str] = generate_password,
) -> DemoCentre:
    """Fill an empty store with the demo centre as of ``now``; returns the demo users."""
    rng = random.Random(seed)
    system = system_actor(now, source="demo")
    users = tuple(_add_user(centre, system, role, new_password()) for role in Role)
    by_role = {u.role: _actor(centre, u, now) for u in users}
    chairs = [centre.records.add_chair(system, name=f"Chair {n}") for n in range(1, CHAIRS + 1)]
    patients = [_add_patient(centre, by_role[Role.NURSE], rng, n) for n in range(1, PATIENTS + 1)]
    protocols = _plannable(catalog or shipped_catalog())
    day = centre.clinical.local_day(now)
    # every order starts today, so no visit before today's midnight (just after it, the day
    # has only begun: fewer sessions are under way)
    start = max(_quarter_hour(now - FIRST_START_BEFORE_NOW), _local_midnight(day, centre))
    appointments: list[Appointment] = []
    for index, patient in enumerate(patients):
        protocol = protocols[index % len(protocols)]
        course = course_for(protocol.therapy_id, protocol.eligibility.min_dose_number, day)
        order = centre.records.add_order(
            by_role[Role.PHYSICIAN],
            patient_id=patient.id,
            therapy_id=protocol.therapy_id,
            start_date=course.start,
            options=tuple(DEMO_OPTIONS.get(protocol.therapy_id, {}).items()),
        )
        record_history(
            centre,
            by_role[Role.NURSE],
            patient=patient,
            order=order,
            course=course,
            day=day,
            index=index,
        )
        appointments.append(
            _book(
                centre,
                by_role[Role.SCHEDULER],
                patient=patient,
                protocol=protocol,
                chairs=chairs,
                order_id=order.id,
                wanted=after(start, STAGGER * index),
            )
        )
    sessions = _run_sessions(centre, by_role[Role.NURSE], patients, appointments, now)
    return DemoCentre(
        users=users,
        patients=len(patients),
        chairs=len(chairs),
        appointments=len(appointments),
        sessions=sessions,
    )


def _run_sessions(
    centre: Centre,
    nurse: Actor,
    patients: list[Patient],
    appointments: list[Appointment],
    now: datetime,
) -> int:
    """Drive every appointment that has begun up to ``now``; returns how many."""
    sessions = 0
    for index, (patient, appointment) in enumerate(zip(patients, appointments, strict=True)):
        if appointment.starts_at <= now:
            reaction = index == REACTION_PATIENT
            _run_session(centre, nurse, patient, appointment, now, reaction=reaction)
            sessions += 1
    return sessions


def _add_user(centre: Centre, system: Actor, role: Role, password: str) -> DemoUser:
    username = f"demo-{role.value}"
    centre.accounts.create_user(
        system, username=username, role=role, password=password, display_name=f"Demo {role.value}"
    )
    return DemoUser(username=username, role=role, password=password)


def _actor(centre: Centre, user: DemoUser, now: datetime) -> Actor:
    with centre.access.uow_factory() as uow:
        record = uow.users.get_by_username(user.username)
    principal = Principal(user_id=record.id, username=record.username, role=record.role)
    return principal.acting(now, "demo")


DEMO_MRN_SYSTEM = "urn:msinfusion:demo:mrn"
"""The demo centre's synthetic hospital-number namespace (a real centre sets its own)."""


def _add_patient(centre: Centre, nurse: Actor, rng: random.Random, number: int) -> Patient:
    born = date(rng.randint(1960, 2002), rng.randint(1, 12), rng.randint(1, 28))
    return centre.records.add_patient(
        nurse,
        display_name=f"Synthetic Patient {number:02d}",
        date_of_birth=born,
        sex=rng.choice(("female", "male")),
        height_cm=Decimal(rng.randint(152, 192)),
        weight_kg=Decimal(rng.randint(50, 98)),
        identifiers=(PatientIdentifier(system=DEMO_MRN_SYSTEM, value=f"DEMO-{number:04d}"),),
        synthetic=True,  # demonstration data says so; a real record never does
    )


def _plannable(catalog: Catalog) -> list[Protocol]:
    """Protocols the demo can book without a course day (the alemtuzumab course is skipped)."""
    found = []
    for protocol in catalog.protocols():
        try:
            plan_infusion(
                protocol,
                datetime(2026, 1, 5, 9, tzinfo=UTC),
                dose_number=protocol.eligibility.min_dose_number,
                height_cm=Decimal(170),
                weight_kg=Decimal(70),
            )
        except MsinfusionError:
            continue
        found.append(protocol)
    return found


def _local_midnight(day: date, centre: Centre) -> datetime:
    """The start of ``day`` on the centre's clock, in UTC."""
    return day_bounds(day, centre.clinical.centre_tz)[0]


def _quarter_hour(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def _book(
    centre: Centre,
    scheduler: Actor,
    *,
    patient: Patient,
    protocol: Protocol,
    chairs: list[Chair],
    order_id: str,
    wanted: datetime,
) -> Appointment:
    """The first free chair at ``wanted``, else 15 minutes later, and so on."""
    for delay in range(0, 48):
        starts_at = after(wanted, timedelta(minutes=15 * delay))
        for chair in chairs:
            try:
                return centre.records.book_appointment(
                    scheduler,
                    patient_id=patient.id,
                    chair_id=chair.id,
                    protocol_id=protocol.id,
                    dose_number=protocol.eligibility.min_dose_number,
                    starts_at=starts_at,
                    order_id=order_id,
                )
            except DuplicateRecord:
                continue
    raise DuplicateRecord("no chair is free for the demo day", field="chair_id")


def _run_session(
    centre: Centre,
    nurse: Actor,
    patient: Patient,
    appointment: Appointment,
    now: datetime,
    *,
    reaction: bool,
) -> None:
    protocol = shipped_catalog().get_protocol(appointment.protocol_id)
    plan = plan_infusion(
        protocol,
        appointment.starts_at,
        dose_number=appointment.dose_number,
        height_cm=patient.height_cm,
        weight_kg=patient.weight_kg,
    )
    drug_start = after(appointment.starts_at, plan.infusion_start - plan.chair_start)
    scripted = [ScriptedReaction(minute=Fraction(40), severity=Severity.MILD)] if reaction else []
    visit = simulate(
        protocol,
        drug_start,
        scripted,
        dose_number=appointment.dose_number,
        height_cm=None if patient.height_cm is None else Fraction(patient.height_cm),
        weight_kg=None if patient.weight_kg is None else Fraction(patient.weight_kg),
    )
    session_id = centre.sessions.open_session(nurse, appointment_id=appointment.id)
    version = 0
    for command in visit.commands:
        if command.at > now:
            break
        typed = replace(command, user=nurse.username)
        if isinstance(typed, CheckIn):
            mrn = patient.identifiers[0] if patient.identifiers else None
            typed = replace(
                typed,
                patient_id=patient.id,
                identity_check="identifier",  # the synthetic wristband's MRN, typed
                confirmed_identifier=None if mrn is None else f"{mrn.system}|{mrn.value}",
            )
        charting = replace(nurse, at=command.at)  # the synthetic day, charted as it happened
        version = centre.sessions.handle(
            charting, session_id, typed, expected_version=version, display_tz=UTC
        ).version

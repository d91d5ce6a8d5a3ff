"""A small synthetic centre behind the API, for the e2e tests: one user and token per role,
a patient, a chair, an order, today's appointment and an infusing session."""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from msinfusion.adapters.web import Settings, create_app
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.application.accounts import PasswordHasher, principal_of
from msinfusion.application.audit import UnitOfWorkFactory, system_actor
from msinfusion.application.centre import Centre
from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.records import PatientIdentifier, Role
from msinfusion.application.sessions import SessionService
from msinfusion.bootstrap import build_centre
from msinfusion.catalog import shipped_catalog
from msinfusion.session.commands import CheckIn
from msinfusion.session.simulate import simulate

with warnings.catch_warnings():
    # starlette asks for the httpx2 fork; plain httpx (a project dependency) works the same.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NOW = datetime(2026, 3, 2, 10, 45, tzinfo=UTC)
PASSWORD = "correct horse battery"
PROTOCOL_ID = "ocrelizumab-600-standard"


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now = self.now + delta


@dataclass
class World:
    client: TestClient
    centre: Centre
    clock: Clock
    uow_factory: UnitOfWorkFactory
    tokens: dict[Role, str] = field(default_factory=dict)
    user_ids: dict[Role, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def service(self) -> SessionService:
        """The actor-less session engine on the world's store (for assertions)."""
        return SessionService(shipped_catalog(), unit_of_work=self.uow_factory)

    def auth(self, role: Role | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def request(self, role: Role | None, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.auth(role), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)


def in_memory_factory() -> UnitOfWorkFactory:
    return functools.partial(InMemoryUnitOfWork, InMemoryDatabase())


def build_world(
    uow_factory: UnitOfWorkFactory | None = None,
    *,
    settings: Settings | None = None,
    clinical: bool = True,
    hasher: PasswordHasher | None = None,
) -> World:
    """The seeded centre; ``clinical=False`` seeds only the users and their tokens."""
    factory = uow_factory or in_memory_factory()
    clock = Clock()
    chosen = settings or Settings()
    centre = build_centre(
        chosen, uow_factory=factory, hasher=hasher or Argon2Hasher.fast(), clock=clock
    )
    app = create_app(centre, settings=chosen)
    client = TestClient(app, base_url="https://testserver")
    world = World(client=client, centre=centre, clock=clock, uow_factory=factory)
    seed(world, clinical=clinical)
    return world


def seed(world: World, *, clinical: bool = True) -> None:
    centre, system = world.centre, system_actor(NOW)
    for role in Role:
        user = centre.accounts.create_user(
            system, username=f"{role.value}1", role=role, password=PASSWORD
        )
        world.user_ids[role] = user.id
        # A token only for oneself, or from an admin for a device account.
        issuer = system if role is Role.DEVICE else principal_of(user).acting(NOW, "seed")
        world.tokens[role] = centre.accounts.issue_token(issuer, user.id, label="e2e")[1]
    if not clinical:
        return
    physician = actor_for(world, Role.PHYSICIAN)
    nurse = actor_for(world, Role.NURSE)
    chair = centre.records.add_chair(system, name="Chair 1")
    patient, order = patient_on_course(centre, physician, nurse, "Synthetic Patient 01")
    appointment = centre.records.book_appointment(
        nurse,
        patient_id=patient.id,
        chair_id=chair.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=NOW - timedelta(hours=2),
        order_id=order.id,
    )
    other, other_order = patient_on_course(centre, physician, nurse, "Synthetic Patient 02")
    spare = centre.records.book_appointment(
        nurse,
        patient_id=other.id,
        chair_id=chair.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=NOW + timedelta(days=1),
        order_id=other_order.id,
    )
    session_id = centre.sessions.open_session(nurse, appointment_id=appointment.id)
    run_simulated(world, session_id, patient.id, until=NOW)
    world.ids.update(
        patient=patient.id,
        chair=chair.id,
        order=order.id,
        appointment=appointment.id,
        spare_appointment=spare.id,
        other_patient=other.id,
        session=session_id,
        token=centre.accounts.issue_token(
            actor_for(world, Role.VIEWER), world.user_ids[Role.VIEWER], label="spare"
        )[0].id,
    )


TODAY = NOW.date()
BIRTH_DATE = date(1984, 5, 17)
MRN_SYSTEM = "urn:test:mrn"
_MRNS = itertools.count(1)
"""Every world patient's synthetic date of birth and MRN namespace (check-in identifies them)."""


def identified(patient: Any) -> dict[str, str]:
    """The check-in fields of a nurse who typed the patient's MRN (``patient-identification``)."""
    mrn = patient.identifiers[0]
    return {"identity_check": "identifier", "confirmed_identifier": f"{mrn.system}|{mrn.value}"}


COURSE_START = (NOW - timedelta(weeks=24)).date()
"""The synthetic patient's ocrelizumab course began 24 weeks ago: dose 3 is due today."""


def patient_on_course(centre: Any, physician: Any, nurse: Any, name: str) -> tuple[Any, Any]:
    patient = centre.records.add_patient(
        nurse,
        display_name=name,
        date_of_birth=BIRTH_DATE,
        height_cm=170,
        weight_kg=70,
        identifiers=(PatientIdentifier(system=MRN_SYSTEM, value=f"MRN-{next(_MRNS):05d}"),),
        synthetic=True,
    )
    order = centre.records.add_order(
        physician, patient_id=patient.id, therapy_id="ocrelizumab", start_date=COURSE_START
    )
    record_course_history(centre, nurse, patient.id, order.id)
    return patient, order


def record_course_history(
    centre: Any,
    nurse: Any,
    patient_id: str,
    order_id: str,
    *,
    start: date = COURSE_START,
    today: date = TODAY,
) -> None:
    """Doses 1 and 2 given, the first-dose screening on file, no infection today (all synthetic)."""
    for number, day in ((1, start), (2, start + timedelta(days=14))):
        centre.clinical.record(
            nurse,
            patient_id,
            "given-dose",
            {"order_id": order_id, "dose_number": number, "on": day.isoformat()},
        )
    screened = (start - timedelta(days=14)).isoformat()
    labs = [
        {"test": "hbsag", "on": screened, "positive": False},
        {"test": "anti_hbc", "on": screened, "positive": False},
        {"test": "serum_immunoglobulins", "on": screened, "abnormal": False},
        *(
            {"test": t, "on": screened, "abnormal": False}
            for t in ("alt", "ast", "alp", "bilirubin")
        ),
    ]
    for lab in labs:
        centre.clinical.record(nurse, patient_id, "lab", lab)
    centre.clinical.record(
        nurse, patient_id, "profile", {"vaccination_history_reviewed": True, "on": screened}
    )
    centre.clinical.record(
        nurse,
        patient_id,
        "finding",
        {"name": "active_infection", "on": today.isoformat(), "present": False},
    )


def actor_for(world: World, role: Role) -> Any:
    principal = world.centre.accounts.authenticate_token(world.tokens[role])
    return principal.acting(world.clock(), "seed")


def identity_fields(world: World, patient_id: str) -> dict[str, str]:
    """``identified`` for a patient id (as the nurse reads the record)."""
    nurse = actor_for(world, Role.NURSE)
    return identified(world.centre.queries.get_patient(nurse, patient_id))


def run_simulated(world: World, session_id: str, patient_id: str, *, until: datetime) -> int:
    """Send the simulated visit's commands up to ``until`` as the nurse; returns the version."""
    protocol = shipped_catalog().get_protocol(PROTOCOL_ID)
    visit = simulate(protocol, NOW - timedelta(minutes=45), dose_number=3)
    nurse = actor_for(world, Role.NURSE)
    version = 0
    for command in visit.commands:
        if command.at > until:
            break
        typed = replace(command, user=nurse.username)
        if isinstance(typed, CheckIn):
            patient = world.centre.queries.get_patient(nurse, patient_id)
            typed = replace(typed, patient_id=patient_id, **identified(patient))
        charting = replace(nurse, at=command.at)  # charted as it happened
        version = world.centre.sessions.handle(
            charting, session_id, typed, expected_version=version, display_tz=UTC
        ).version
    return version


WorldFactory = Callable[[], World]

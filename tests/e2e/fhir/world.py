"""A synthetic centre for the FHIR tests: the API test world's users and tokens, plus

* patient A (an MRN, a birth date, female) whose infusion this morning ran in full: a
  late-charted premedication, a complete baseline vital-sign set (NEWS2 scored), a moderate
  reaction with rescue medication, a device-fed heart rate (``POST /api/observations``), then
  completion and discharge;
* patient B, infusing now (the API world's visit: started 45 minutes ago, one rate step);
* patient C, whose infusion at 08:45 was stopped by a life-threatening reaction at minute 20
  (CTCAE grade 4, hypotension and bronchospasm): ocrelizumab is contraindicated since;
* patient A's allergy list (penicillin, moderate rash) and two lab results (ALT 32, not
  abnormal; HBsAg negative) on 2026-02-20, and a TSH entered in error and retracted.

Everything is synthetic and charted through the application layer, as at the chair.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from msinfusion.application.audit import UnitOfWorkFactory, system_actor
from msinfusion.application.records import Allergy, PatientIdentifier, Role
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.model import Severity
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session import commands as cmd
from msinfusion.session.simulate import ScriptedReaction, simulate
from tests.e2e.api.world import (
    COURSE_START,
    NOW,
    PROTOCOL_ID,
    World,
    actor_for,
    build_world,
    record_course_history,
)

MRN_SYSTEM = "urn:msinfusion:demo:mrn"
A_START = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
"""Patient A's infusion started at 03:00 UTC (finished before NOW, 10:45 UTC)."""
B_START = NOW - timedelta(minutes=45)
BASELINE = {
    "systolic_mmhg": "124",
    "diastolic_mmhg": "78",
    "heart_rate_bpm": "92",
    "spo2_pct": "95",
    "temperature_c": "38.2",
    "respiratory_rate_per_min": "21",
}
"""A's full set before the start: NEWS2 by hand (RCP chart, dossier 2.1) respiration 21 -> 2,
SpO2 95 (scale 1) -> 1, air -> 0, systolic 124 -> 0, pulse 92 -> 1, alert -> 0, 38.2 C -> 1:
total 5, band medium."""
C_START = datetime(2026, 3, 2, 8, 45, tzinfo=UTC)
"""Patient C's infusion start; a life-threatening reaction at minute 20 (09:05) stops it."""
C_REACTION_MINUTE = 20
LAB_DAY = "2026-02-20"
DEVICE_MINUTE = 20
"""Minutes after A's start at which the bedside monitor sends a heart rate."""


@dataclass
class FhirWorld:
    api: World
    ids: dict[str, str]
    a_commands: tuple[cmd.Command, ...]

    def get(self, role: Role | None, path: str, **kwargs: Any) -> Any:
        return self.api.request(role, "GET", path, **kwargs)


def _identified(command: cmd.Command, patient: Any) -> cmd.Command:
    """A check-in for ``patient``, with the two identifiers the chair confirms."""
    if not isinstance(command, cmd.CheckIn):
        return command
    command = replace(command, patient_id=patient.id)
    names = {f.name for f in dataclasses.fields(cmd.CheckIn)}
    if "identity_check" in names:
        command = replace(
            command,
            identity_check="name-and-birth-date",
            confirmed_name=patient.display_name,
            confirmed_birth_date=patient.date_of_birth.isoformat(),
        )
    return command


def _a_commands(start: datetime) -> list[cmd.Command]:
    """Patient A's visit: the simulated one with a moderate reaction, plus a full baseline
    vital-sign set before the start and a rescue medication after the reaction."""
    protocol = shipped_catalog().get_protocol(PROTOCOL_ID)
    visit = simulate(
        protocol,
        start,
        (ScriptedReaction(minute=Fraction(75), severity=Severity.MODERATE),),
        dose_number=3,
    )
    commands = [
        replace(c, ctcae_grade=2, symptoms=("flushing", "itching"))
        if isinstance(c, cmd.RecordReaction)
        else c
        for c in visit.commands
    ]
    baseline = cmd.RecordVitals(
        at=start - timedelta(minutes=5),
        user="simulation",
        **{k: Fraction(v) for k, v in BASELINE.items()},
        consciousness=Consciousness.ALERT,
        supplemental_oxygen=False,
    )
    reaction_at = next(c.at for c in commands if isinstance(c, cmd.RecordReaction))
    rescue = cmd.GiveRescueMedication(
        at=reaction_at + timedelta(minutes=2),
        user="simulation",
        drug="cetirizine",
        dose="10 mg",
        route="oral",
    )
    commands.extend([baseline, rescue])
    commands.sort(key=lambda c: c.at)
    # The first premedication is charted late: just before the start, 40 minutes after it was
    # given (folded at its own time, so the start still finds it in its window).
    first = next(c for c in commands if isinstance(c, cmd.GivePremedication))
    commands.remove(first)
    start_index = next(i for i, c in enumerate(commands) if isinstance(c, cmd.StartInfusion))
    commands.insert(start_index, replace(first, late_reason="charted after the ward round"))
    return commands


def _send(
    world: World, session_id: str, commands: list[cmd.Command], patient: Any, *, version: int = 0
) -> int:
    nurse = actor_for(world, Role.NURSE)
    for command in commands:
        typed = _identified(replace(command, user=nurse.username), patient)
        world.clock.now = max(world.clock.now, command.at)  # charted as it happened, or late
        version = world.centre.sessions.handle(
            replace(nurse, at=world.clock.now),
            session_id,
            typed,
            expected_version=version,
            display_tz=UTC,
        ).version
    return version


def build_fhir_world(uow_factory: UnitOfWorkFactory | None = None) -> FhirWorld:
    world = build_world(uow_factory, clinical=False)
    centre, system = world.centre, system_actor(NOW)
    physician = actor_for(world, Role.PHYSICIAN)
    nurse = actor_for(world, Role.NURSE)
    chair_a = centre.records.add_chair(system, name="Chair 1")
    chair_b = centre.records.add_chair(system, name="Chair 2", attributes=("recliner",))
    patient_a = centre.records.add_patient(
        nurse,
        display_name="Synthetic Patient 01",
        date_of_birth=date(1980, 4, 12),
        sex="female",
        height_cm=170,
        weight_kg=70,
        identifiers=(PatientIdentifier(system=MRN_SYSTEM, value="DEMO-0001"),),
        allergies=(
            Allergy(substance="penicillin", reaction="rash", severity="moderate", source="GP"),
        ),
        synthetic=True,
    )
    patient_b = centre.records.add_patient(
        nurse,
        display_name="Synthetic Patient 02",
        date_of_birth=date(1975, 9, 30),
        sex="male",
        height_cm=180,
        weight_kg=80,
        synthetic=True,
    )
    patient_c = centre.records.add_patient(
        nurse,
        display_name="Synthetic Patient 03",
        date_of_birth=date(1990, 1, 15),
        sex="female",
        height_cm=165,
        weight_kg=60,
        synthetic=True,
    )
    orders = {}
    for patient in (patient_a, patient_b, patient_c):
        order = centre.records.add_order(
            physician, patient_id=patient.id, therapy_id="ocrelizumab", start_date=COURSE_START
        )
        record_course_history(centre, nurse, patient.id, order.id)
        orders[patient.id] = order
    a_commands = _a_commands(A_START)
    appointment_a = centre.records.book_appointment(
        nurse,
        patient_id=patient_a.id,
        chair_id=chair_a.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=a_commands[0].at,
        order_id=orders[patient_a.id].id,
    )
    appointment_b = centre.records.book_appointment(
        nurse,
        patient_id=patient_b.id,
        chair_id=chair_b.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=B_START - timedelta(hours=1),
        order_id=orders[patient_b.id].id,
    )
    world.clock.now = a_commands[0].at
    session_a = centre.sessions.open_session(
        replace(nurse, at=world.clock.now), appointment_id=appointment_a.id
    )
    device_at = A_START + timedelta(minutes=DEVICE_MINUTE)
    split = next(i for i, c in enumerate(a_commands) if c.at > device_at)
    before, after = a_commands[:split], a_commands[split:]
    _send(world, session_a, before, patient_a)
    world.clock.now = device_at + timedelta(minutes=1)
    posted = world.request(
        Role.DEVICE,
        "POST",
        "/api/observations",
        json={
            "idempotency_key": "fhir-world-1",
            "chair": "Chair 1",
            "observed_at": device_at.isoformat(),
            "observations": [{"system": "LOINC", "code": "8867-4", "value": 88, "unit": "/min"}],
        },
    )
    assert posted.status_code in (200, 201, 202), posted.text
    version = centre.sessions.get(
        replace(nurse, at=world.clock.now), session_a, at=None, display_tz=UTC
    ).version
    _send(world, session_a, after, patient_a, version=version)
    session_c = _run_c(world, patient_c, chair_a.id, orders[patient_c.id].id)
    world.clock.now = B_START - timedelta(minutes=45)
    session_b = centre.sessions.open_session(
        replace(nurse, at=world.clock.now), appointment_id=appointment_b.id
    )
    protocol = shipped_catalog().get_protocol(PROTOCOL_ID)
    b_commands = [c for c in simulate(protocol, B_START, dose_number=3).commands if c.at <= NOW]
    _send(world, session_b, b_commands, patient_b)
    world.clock.now = NOW
    labs = _record_labs(world, patient_a.id)
    ids = {
        "patient_a": patient_a.id,
        "patient_b": patient_b.id,
        "chair_a": chair_a.id,
        "chair_b": chair_b.id,
        "order_a": orders[patient_a.id].id,
        "order_b": orders[patient_b.id].id,
        "session_a": session_a,
        "session_b": session_b,
        "patient_c": patient_c.id,
        "order_c": orders[patient_c.id].id,
        "session_c": session_c,
        **labs,
        "nurse": world.user_ids[Role.NURSE],
        "physician": world.user_ids[Role.PHYSICIAN],
    }
    return FhirWorld(api=world, ids=ids, a_commands=tuple(a_commands))


def _run_c(world: World, patient: Any, chair_id: str, order_id: str) -> str:
    """Patient C's visit: stopped by a life-threatening reaction (grade 4), then discharged."""
    centre, nurse = world.centre, actor_for(world, Role.NURSE)
    protocol = shipped_catalog().get_protocol(PROTOCOL_ID)
    reaction = ScriptedReaction(
        minute=Fraction(C_REACTION_MINUTE), severity=Severity.LIFE_THREATENING
    )
    visit = simulate(protocol, C_START, (reaction,), dose_number=3)
    commands = [c for c in visit.commands if c.at <= NOW]
    for index, command in enumerate(commands):
        if isinstance(command, cmd.RecordReaction):
            commands[index] = replace(
                command, ctcae_grade=4, symptoms=("hypotension", "bronchospasm")
            )
    appointment = centre.records.book_appointment(
        nurse,
        patient_id=patient.id,
        chair_id=chair_id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=commands[0].at,
        order_id=order_id,
    )
    world.clock.now = commands[0].at
    session = centre.sessions.open_session(
        replace(nurse, at=world.clock.now), appointment_id=appointment.id
    )
    _send(world, session, commands, patient)
    return session


def _record_labs(world: World, patient_id: str) -> dict[str, str]:
    """Two lab results and one entered in error, then retracted (all by the nurse)."""
    nurse = replace(actor_for(world, Role.NURSE), at=NOW)
    clinical = world.centre.clinical
    alt = clinical.record(
        nurse, patient_id, "lab", {"test": "alt", "on": LAB_DAY, "value": 32, "abnormal": False}
    )
    hbsag = clinical.record(
        nurse, patient_id, "lab", {"test": "hbsag", "on": LAB_DAY, "positive": False}
    )
    tsh = clinical.record(
        nurse, patient_id, "lab", {"test": "tsh", "on": LAB_DAY, "value": 2, "abnormal": False}
    )
    clinical.record(
        nurse, patient_id, "retraction", {"entry_id": tsh.id, "reason": "another patient's"}
    )
    return {"lab_alt": alt.id, "lab_hbsag": hbsag.id, "lab_tsh": tsh.id}

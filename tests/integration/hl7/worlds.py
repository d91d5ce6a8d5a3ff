"""Worlds for the HL7 tests on the in-memory fake, SQLite and PostgreSQL, and a second infusion
in progress for the published samples' patient (identifiers as the samples name them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.web import Settings
from msinfusion.application.audit import system_actor
from msinfusion.application.records import PatientIdentifier, Role
from tests.e2e.api.world import (
    BIRTH_DATE,
    COURSE_START,
    NOW,
    PROTOCOL_ID,
    World,
    actor_for,
    build_world,
    record_course_history,
    run_simulated,
)
from tests.pg_cluster import Cluster

BACKENDS = ("memory", "sqlite", "postgresql")

SAMPLE_IDENTIFIERS = (
    PatientIdentifier(system="PID", value="SYN-GE-01"),
    PatientIdentifier(system="Imaginary Hospital", value="SYN-IHE-01"),
)
"""The published samples' PID-3 (authority ^ identifier, the id changed to a synthetic one)."""
SAMPLE_CHAIR = "V2"
"""The GE B40 samples' PV1-3.3 (bed)."""


def stored_world(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, **options: object
) -> Iterator[World]:
    """The seeded world on ``backend``; SQL engines are disposed of afterwards."""
    if backend == "memory":
        yield build_world(**options)  # type: ignore[arg-type]
        return
    if backend == "sqlite":
        url = sqlite_url(tmp_path / "hl7.db")
    else:
        cluster: Cluster = request.getfixturevalue("postgres_cluster")
        url = cluster.create_database(f"hl7_{uuid.uuid4().hex[:8]}")
    engine = create_engine_for(url)
    upgrade(engine)
    try:
        yield build_world(sql_unit_of_work_factory(engine), **options)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def add_sample_patient_session(
    world: World,
    *,
    identifiers: tuple[PatientIdentifier, ...] = SAMPLE_IDENTIFIERS,
    chair_name: str = SAMPLE_CHAIR,
) -> str:
    """A second infusion in progress, at chair ``chair_name`` (``V2``), for a patient with
    ``identifiers`` (the GE and IHE samples'); returns its session id (also
    ``world.ids['sample_session']``)."""
    centre, system = world.centre, system_actor(NOW)
    nurse, physician = actor_for(world, Role.NURSE), actor_for(world, Role.PHYSICIAN)
    chair = centre.records.add_chair(system, name=chair_name)
    patient = centre.records.add_patient(
        nurse,
        display_name="Synthetic Patient 03",
        date_of_birth=BIRTH_DATE,
        height_cm=170,
        weight_kg=70,
        identifiers=identifiers,
        synthetic=True,
    )
    order = centre.records.add_order(
        physician, patient_id=patient.id, therapy_id="ocrelizumab", start_date=COURSE_START
    )
    record_course_history(centre, nurse, patient.id, order.id)
    appointment = centre.records.book_appointment(
        nurse,
        patient_id=patient.id,
        chair_id=chair.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=NOW - timedelta(hours=2),
        order_id=order.id,
    )
    session_id = centre.sessions.open_session(nurse, appointment_id=appointment.id)
    run_simulated(world, session_id, patient.id, until=NOW)
    world.ids.update(sample_session=session_id, sample_patient=patient.id, sample_chair=chair.id)
    return session_id


ZURICH = Settings(centre_timezone="Europe/Zurich")
"""GE's samples carry no UTC offset: the centre's zone applies (MSINFUSION_TIMEZONE)."""

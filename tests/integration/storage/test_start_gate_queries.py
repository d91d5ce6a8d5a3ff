"""The start gate reads a patient's records by indexed queries, never a whole table.

``StartInfusion`` checks the order, the reaction history, the dose history and the gates in
the transaction that stores it (``SessionUseCases._require_start_gates``). With other patients'
sessions in the database, every statement that transaction runs on SQLite is planned as an
index search (``EXPLAIN QUERY PLAN``): no ``SCAN`` of a table that grows with the centre's
history — the gate's cost does not grow with the stored sessions (issue 22; the benchmark is
``benchmarks/test_bench_session_scale.py``). The decisions stay the patient's own: another
patient's stored sessions change nothing.

``store_sessions`` and ``StartAtTheChair`` also seed that benchmark.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, tables, upgrade
from msinfusion.adapters.storage.chain import EVENT_FIELDS, GENESIS, row_hash
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.audit import system_actor
from msinfusion.application.records import Role
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.model import Severity
from msinfusion.session import commands as cmd
from msinfusion.session.simulate import simulate
from tests.e2e.api.world import (
    NOW,
    PROTOCOL_ID,
    World,
    actor_for,
    build_world,
    identified,
    patient_on_course,
)

GROWING = (
    "session_summaries",
    "session_events",
    "appointments",
    "patients",
    "therapy_orders",
    "clinical_entries",
    "dose_preparations",
    "audit_log",
)
"""Tables that grow with the centre's history."""


def copied_events(rows: list[dict[str, Any]], stream_id: str, patient_id: str) -> list[Any]:
    """The stream's rows for another stream and patient, with their hash chain."""
    out, previous = [], GENESIS
    for row in rows:
        payload = dict(row["payload"])
        if "patient_id" in payload:
            payload["patient_id"] = patient_id
        if isinstance(payload.get("command"), dict) and "patient_id" in payload["command"]:
            payload["command"] = {**payload["command"], "patient_id": patient_id}
        copy = {**row, "stream_id": stream_id, "payload": payload}
        copy.pop("position")
        copy["previous_hash"] = previous
        copy["row_hash"] = previous = row_hash(previous, EVENT_FIELDS, copy)
        out.append(copy)
    return out


def store_sessions(engine: Engine, world: World, count: int) -> None:
    """``count`` whole visits of other patients (one patient per ten sessions), bulk-inserted:
    the world's infusing session copied with its events, summary and appointment."""
    session_id, appointment_id = world.ids["session"], world.ids["appointment"]
    with engine.begin() as connection:

        def one(table: Any, where: Any) -> dict[str, Any]:
            return dict(connection.execute(select(table).where(where)).mappings().one())

        events = [
            dict(r)
            for r in connection.execute(
                select(tables.session_events)
                .where(tables.session_events.c.stream_id == session_id)
                .order_by(tables.session_events.c.version)
            ).mappings()
        ]
        summary = one(tables.session_summaries, tables.session_summaries.c.session_id == session_id)
        appointment = one(tables.appointments, tables.appointments.c.id == appointment_id)
        patient = one(tables.patients, tables.patients.c.id == world.ids["other_patient"])
        patients, summaries, appointments, rows = [], [], [], []
        for n in range(count):
            patient_id, stored_id = f"stored-patient-{n // 10}", f"stored-session-{n}"
            if n % 10 == 0:
                patients.append({**patient, "id": patient_id, "identifiers": ()})
            copy = {**summary, "session_id": stored_id, "patient_id": patient_id}
            if copy.get("state") is not None:  # the folded state names the patient too
                copy["state"] = replace(copy["state"], patient_id=patient_id)
            summaries.append(copy)
            appointments.append(
                {
                    **appointment,
                    "id": f"stored-appointment-{n}",
                    "patient_id": patient_id,
                    "order_id": None,
                    "session_id": stored_id,
                    "starts_at": appointment["starts_at"] - timedelta(days=1 + n % 700),
                    "ends_at": appointment["ends_at"] - timedelta(days=1 + n % 700),
                }
            )
            rows += copied_events(events, stored_id, patient_id)
        connection.execute(insert(tables.patients), patients)
        connection.execute(insert(tables.appointments), appointments)
        connection.execute(insert(tables.session_summaries), summaries)
        connection.execute(insert(tables.session_events), rows)


class StartAtTheChair:
    """Fresh patients on course, each checked in and premedicated on a chair of their own."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.visit = simulate(
            shipped_catalog().get_protocol(PROTOCOL_ID), NOW - timedelta(minutes=45), dose_number=3
        )
        self.count = 0

    def ready(self) -> tuple[str, int, cmd.StartInfusion]:
        """A session ready to start (not timed): its id, version and the start command."""
        world, centre = self.world, self.world.centre
        nurse, physician = actor_for(world, Role.NURSE), actor_for(world, Role.PHYSICIAN)
        self.count += 1
        chair = centre.records.add_chair(system_actor(NOW), name=f"Start chair {self.count}")
        patient, order = patient_on_course(centre, physician, nurse, f"Start {self.count}")
        appointment = centre.records.book_appointment(
            nurse,
            patient_id=patient.id,
            chair_id=chair.id,
            protocol_id=PROTOCOL_ID,
            dose_number=3,
            starts_at=NOW - timedelta(hours=1),
            order_id=order.id,
        )
        session = centre.sessions.open_session(nurse, appointment_id=appointment.id)
        version = 0
        for command in self.visit.commands:
            typed = replace(command, user=nurse.username)
            if isinstance(typed, cmd.StartInfusion):
                return session, version, typed
            if isinstance(typed, cmd.CheckIn):
                typed = replace(typed, patient_id=patient.id, **identified(patient))
            version = centre.sessions.handle(
                replace(nurse, at=command.at),
                session,
                typed,
                expected_version=version,
                display_tz=UTC,
            ).version
        raise AssertionError("the simulated visit has no StartInfusion")

    def start(self, session: str, version: int, command: cmd.StartInfusion) -> None:
        nurse = replace(actor_for(self.world, Role.NURSE), at=command.at)
        outcome = self.world.centre.sessions.handle(
            nurse, session, command, expected_version=version, display_tz=UTC
        )
        assert outcome.view.status == "infusing"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url(tmp_path / "gate.db"))
    upgrade(engine)
    yield engine
    engine.dispose()


def _plans(engine: Engine, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(statement, plan line) for every SELECT, as SQLite plans it."""
    found = []
    with engine.connect() as connection:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            found += [(statement, str(row[3])) for row in rows]
    return found


def _full_scans(plans: list[tuple[str, str]]) -> list[tuple[str, str]]:
    scans = []
    for statement, line in plans:
        match = re.match(r"SCAN (\w+)", line)
        if match is None or match.group(1) not in GROWING:
            continue
        tail_of_audit = match.group(1) == "audit_log" and "LIMIT" in statement.upper()
        if not tail_of_audit:  # the audit chain's tail: the last row by primary key
            scans.append((statement, line))
    return scans


def test_the_start_gate_reads_by_index_only(engine: Engine) -> None:
    world = build_world(sql_unit_of_work_factory(engine))
    store_sessions(engine, world, 50)
    chair = StartAtTheChair(world)
    ready = chair.ready()
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        chair.start(*ready)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    plans = _plans(engine, statements)
    assert any("session_summaries" in s for s, _ in plans)  # the history was read
    assert _full_scans(plans) == []


def test_other_patients_contraindicating_sessions_do_not_refuse_this_start(
    engine: Engine,
) -> None:
    """The stored copies carry an anaphylaxis that discontinued the therapy: for their own
    patients (the booking, check-in and start refusals of one's own history are
    ``tests/e2e/api/test_safety_across_visits.py``), never for this one."""
    world = build_world(sql_unit_of_work_factory(engine))
    nurse = replace(actor_for(world, Role.NURSE), at=NOW)
    reaction = cmd.RecordReaction(
        at=NOW,
        user=nurse.username,
        severity=Severity.LIFE_THREATENING,
        symptoms=("anaphylaxis",),
    )
    outcome = world.centre.sessions.handle(
        nurse, world.ids["session"], reaction, expected_version=None, display_tz=UTC
    )
    assert outcome.view.state.therapy_contraindicated
    store_sessions(engine, world, 20)
    chair = StartAtTheChair(world)
    chair.start(*chair.ready())

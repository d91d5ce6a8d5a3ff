"""What a group-commit batch does once instead of once per message (issue 22): it reads its
idempotency keys in one query, checks each monitor's session match once, and writes its
device-message rows in one insert — and is still right when the session ends mid-batch (another
writer discharges it between the batch's check and the reading's decision: PostgreSQL, read
committed, where that can happen; SQLite's batch holds the write lock)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event

from msinfusion.adapters.hl7.codec import Pcd01Codec
from msinfusion.adapters.hl7.simulator import Monitor, pcd01_message
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.application.monitoring_ports import DeviceCodec
from msinfusion.application.records import Role
from msinfusion.session.commands import Discharge, StopInfusion
from msinfusion.session.events import VitalsRecorded
from tests.e2e.api.world import NOW, World, actor_for, build_world
from tests.integration.hl7.test_mllp import NORMAL, msa
from tests.integration.hl7.worlds import SAMPLE_CHAIR, add_sample_patient_session
from tests.pg_cluster import Cluster

TRANSPORT = "hl7-mllp"
DISCHARGED_AT = NOW + timedelta(minutes=61)  # after the 60 min observation


def monitor(world: World) -> Monitor:
    return Monitor(bed="Chair 1", patient_id=world.ids["patient"], serial="0012345678901234")


def reading(world: World, control_id: str, at: datetime) -> str:
    return pcd01_message(monitor(world), NORMAL, control_id=control_id, at=at)


def device_vitals(world: World) -> list[VitalsRecorded]:
    events = world.service.list_events(world.ids["session"])
    return [e for e in events if isinstance(e, VitalsRecorded) and e.user.startswith("device:")]


def test_a_batch_reads_its_keys_once_and_writes_its_rows_in_one_insert(
    sqlite_world: tuple[World, Engine],
) -> None:
    world, engine = sqlite_world
    texts = [reading(world, f"S{i}", NOW) for i in range(8)]
    statements: list[str] = []

    def note(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        receipts = world.centre.monitoring.ingest_many(TRANSPORT, [(t, NOW) for t in texts])
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert [r.outcome for r in receipts] == ["accepted"] * 8
    device_rows = [s for s in statements if "device_messages" in s]
    assert len(device_rows) == 2  # one SELECT … IN for the keys, one INSERT for the rows
    # no savepoint per message: the one around the batch's insert only
    assert sum(s.startswith("SAVEPOINT") for s in statements) == 1
    # the monitor's match is found once: its summary and patient read once (joined), not per
    # message
    assert sum("JOIN patients" in s for s in statements) == 1
    assert sum("FROM patients" in s for s in statements) == 0
    with world.uow_factory() as uow:
        assert sorted(m.id for m in uow.device_messages.list()) == sorted(
            f"hl7:MON/0012345678901234:S{i}" for i in range(8)
        )
    assert len(device_vitals(world)) == 8


def two_monitors(world: World) -> list[Monitor]:
    """The world's monitor and one at a second infusion in progress (its own patient, chair)."""
    add_sample_patient_session(world)
    second = Monitor(
        bed=SAMPLE_CHAIR, patient_id=world.ids["sample_patient"], serial="0099999999999999"
    )
    return [monitor(world), second]


def batch_from(monitors: list[Monitor], tag: str, at: datetime) -> list[tuple[str, datetime]]:
    return [
        (pcd01_message(m, NORMAL, control_id=f"{tag}{i}", at=at), at)
        for i, m in enumerate(monitors)
    ]


def statement_kind(statement: str) -> str:
    """``SELECT … FROM <table> [JOIN <table>]`` / ``INSERT INTO <table>`` / ``UPDATE <table>``."""
    words = statement.split()
    head = words[0].upper()
    if head == "SELECT":
        tables = [words[i + 1] for i, w in enumerate(words[:-1]) if w.upper() in ("FROM", "JOIN")]
        return " ".join(["SELECT", *tables])
    if head == "INSERT":
        return f"INSERT {words[2]}"
    if head == "UPDATE":
        return f"UPDATE {words[1]}"
    return head


def test_a_warm_batch_is_seven_statements_whatever_its_size(
    sqlite_world: tuple[World, Engine],
) -> None:
    """Once the monitors' matches are remembered and their streams cached, a batch reads its
    keys, checks every monitor's match and reads every stream's tail in one query each; its
    messages' events (each chained to the hash its stream's read returned) go in one insert,
    the board summaries in one batch update (executemany), the device-message rows in one
    insert."""
    world, engine = sqlite_world
    monitors = two_monitors(world)
    feed = world.centre.monitoring
    first = feed.ingest_many(TRANSPORT, batch_from(monitors, "W", NOW))
    assert [r.outcome for r in first] == ["accepted"] * 2
    statements: list[str] = []

    def note(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement_kind(statement))

    event.listen(engine, "before_cursor_execute", note)
    try:
        later = NOW + timedelta(minutes=1)
        receipts = feed.ingest_many(TRANSPORT, batch_from(monitors, "B", later))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert [r.outcome for r in receipts] == ["accepted"] * 2
    assert statements == [
        "BEGIN",
        "SELECT device_messages",
        "SELECT session_summaries patients",
        "SELECT session_events",  # both streams' tails
        "INSERT session_events",  # both messages' events
        "UPDATE session_summaries",
        "SAVEPOINT",
        "INSERT device_messages",
        "RELEASE",
    ]
    assert len(device_vitals(world)) == 2  # the world's session: one per batch
    with world.uow_factory() as uow:  # the board's summaries are the batch's
        summaries = uow.sessions.get_many([r.session_id or "" for r in receipts])
    assert [summaries[r.session_id or ""].version for r in receipts] == [
        r.version for r in receipts
    ]


def test_a_remembered_match_to_a_discharged_session_is_not_used_by_the_next_batch(
    sqlite_world: tuple[World, Engine],
) -> None:
    world, _ = sqlite_world
    monitors = two_monitors(world)
    feed = world.centre.monitoring
    first = feed.ingest_many(TRANSPORT, batch_from(monitors, "W", NOW))
    assert [r.outcome for r in first] == ["accepted"] * 2
    nurse, physician = actor_for(world, Role.NURSE), actor_for(world, Role.PHYSICIAN)
    world.centre.sessions.handle(
        nurse,
        world.ids["session"],
        StopInfusion(at=NOW, user=nurse.username, reason="bench test"),
        expected_version=None,
        display_tz=UTC,
    )
    world.centre.sessions.handle(
        replace(physician, at=DISCHARGED_AT),
        world.ids["session"],
        Discharge(at=DISCHARGED_AT, user=physician.username),
        expected_version=None,
        display_tz=UTC,
    )
    received = DISCHARGED_AT + timedelta(seconds=20)
    receipts = feed.ingest_many(TRANSPORT, batch_from(monitors, "B", received))
    assert [(r.outcome, r.reason_code) for r in receipts] == [
        ("quarantined", "unknown-patient"),
        ("accepted", None),
    ]
    assert receipts[1].session_id == world.ids["sample_session"]
    assert len(device_vitals(world)) == 1  # the warm-up's only


class DischargingCodec:
    """The HL7 codec, whose first ACK of an accepted message is built after another writer
    discharged the session (that is, between the batch's match and the reading's decision)."""

    transport = TRANSPORT

    def __init__(self, inner: DeviceCodec, world: World) -> None:
        self._inner, self._world, self.fired = inner, world, False

    def decode(self, text: str) -> Any:
        return self._inner.decode(text)

    def answer(self, text: str, *, now: datetime, error: Any, session_id: Any) -> str:
        if error is None and not self.fired:
            self.fired = True
            physician = actor_for(self._world, Role.PHYSICIAN)
            self._world.centre.sessions.handle(
                replace(physician, at=DISCHARGED_AT),
                self._world.ids["session"],
                Discharge(at=DISCHARGED_AT, user=physician.username),
                expected_version=None,
                display_tz=UTC,
            )
        return self._inner.answer(text, now=now, error=error, session_id=session_id)


def test_a_session_discharged_mid_batch_gets_no_reading_from_the_batch(
    postgres_cluster: Cluster,
) -> None:
    url = postgres_cluster.create_database(f"ended_{uuid.uuid4().hex[:8]}")
    engine = create_engine_for(url)
    upgrade(engine)
    try:
        world = build_world(sql_unit_of_work_factory(engine))
        nurse = actor_for(world, Role.NURSE)
        world.centre.sessions.handle(
            nurse,
            world.ids["session"],
            StopInfusion(at=NOW, user=nurse.username, reason="bench test"),
            expected_version=None,
            display_tz=UTC,
        )
        feed = world.centre.monitoring
        before = len(device_vitals(world))
        feed.add_codec(DischargingCodec(Pcd01Codec(), world))
        received = DISCHARGED_AT + timedelta(seconds=20)
        texts = [
            reading(world, "E1", DISCHARGED_AT + timedelta(seconds=10)),
            reading(world, "E2", NOW + timedelta(minutes=30)),  # measured before the discharge
            reading(world, "E3", DISCHARGED_AT + timedelta(seconds=10)),
        ]
        receipts = feed.ingest_many(TRANSPORT, [(t, received) for t in texts])
        assert [(r.outcome, r.reason_code) for r in receipts] == [
            ("quarantined", "unknown-patient")
        ] * 3
        assert [msa(r.answer) for r in receipts] == ["AE"] * 3
        assert len(device_vitals(world)) == before  # nothing recorded into the ended session
        with world.uow_factory() as uow:
            assert uow.device_messages.list() == []
            assert uow.sessions.get(world.ids["session"]).status == "discharged"
    finally:
        engine.dispose()

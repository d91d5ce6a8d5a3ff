"""HL7 ingestion with group commit, next to the database's raw durable insert rate (issue 22).

For SQLite and PostgreSQL, in one run: (1) raw — one message-sized row (the ACK and the text,
~1 kB) inserted and committed per transaction, one client, through the same engine; measured
before and after the ingestion runs and averaged, so both meet the same disk; (2) ingestion
over loopback MLLP: ``MONITORS`` monitors (one infusing session each, its chair and patient),
each sending PCD-01 readings back to back (the next once the last is answered), into one
listener — once with group commit (``GroupCommit``: a batch per arrival, one transaction) and
once with ``max_batch=1`` (one transaction per message, as before). Messages per second is
all answered messages over the wall time; ACK latency is per message, send to answer. Every
answer must be AA. Target: ingestion ≥ 0.30x raw with ACK p99 < 1 s.

With ``--benchmark-disable`` (the CI smoke run) 2 monitors send 3 messages each.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, insert

from msinfusion.adapters.hl7.mllp import END_BLOCK, BackgroundMllpServer, frame, unframe
from msinfusion.adapters.hl7.simulator import Monitor, Reading, pcd01_message
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.audit import system_actor
from msinfusion.application.records import PatientIdentifier, Role
from tests.e2e.api.world import (
    BIRTH_DATE,
    COURSE_START,
    MRN_SYSTEM,
    NOW,
    PROTOCOL_ID,
    World,
    actor_for,
    build_world,
    record_course_history,
    run_simulated,
)
from tests.pg_cluster import ClusterUnavailable, running_cluster

MONITORS, PER_MONITOR, RAW_ROUNDS = 16, 60, 300
SMOKE_MONITORS, SMOKE_PER_MONITOR, SMOKE_RAW_ROUNDS = 2, 3, 5
_scratch = MetaData()
raw_rows = Table(
    "bench_raw_messages",
    _scratch,
    Column("id", Integer, primary_key=True),
    Column("payload", Text),
)
NORMAL = Reading(
    heart_rate_bpm=72,
    spo2_pct=97,
    systolic_mmhg=118,
    diastolic_mmhg=76,
    respiratory_rate_per_min=16,
    temperature_c=Decimal("36.8"),
)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    try:
        with running_cluster(durable=True) as cluster:
            yield cluster.create_database("ingest")
    except ClusterUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "ingest.db")
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine_for(url)
    upgrade(engine)
    _scratch.drop_all(engine)
    _scratch.create_all(engine)
    yield engine
    engine.dispose()


def add_monitored_session(world: World, index: int) -> Monitor:
    """Another infusing session, at its own chair, for its own patient; its monitor."""
    centre, system = world.centre, system_actor(NOW)
    nurse, physician = actor_for(world, Role.NURSE), actor_for(world, Role.PHYSICIAN)
    chair = centre.records.add_chair(system, name=f"Bench {index}")
    patient = centre.records.add_patient(
        nurse,
        display_name=f"Synthetic Bench {index}",
        date_of_birth=BIRTH_DATE,
        height_cm=170,
        weight_kg=70,
        identifiers=(PatientIdentifier(system=MRN_SYSTEM, value=f"BENCH-{index:05d}"),),
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
    return Monitor(bed=chair.name, patient_id=patient.id, serial=f"{index:016d}")


def raw_rate(engine: Engine, rounds: int, first: int) -> float:
    payload = "x" * 1000
    start = time.perf_counter()
    for i in range(first, first + rounds):
        with engine.connect() as connection:
            connection.execute(insert(raw_rows).values(id=i, payload=payload))
            connection.commit()
    return rounds / (time.perf_counter() - start)


async def stream(port: int, monitor: Monitor, tag: str, count: int) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    seconds = []
    try:
        for i in range(count):
            text = pcd01_message(monitor, NORMAL, control_id=f"{tag}-{i}", at=NOW)
            start = time.perf_counter()
            writer.write(frame(text))
            await writer.drain()
            answer = unframe(await asyncio.wait_for(reader.readuntil(END_BLOCK), 60))
            seconds.append(time.perf_counter() - start)
            assert "MSA|AA|" in answer, answer
    finally:
        writer.close()
        await writer.wait_closed()
    return seconds


def ingest(
    world: World, monitors: list[Monitor], count: int, *, max_batch: int, tag: str
) -> dict[str, float]:
    async def everyone(port: int) -> list[list[float]]:
        return await asyncio.gather(
            *(stream(port, m, f"{tag}{i}", count) for i, m in enumerate(monitors))
        )

    with BackgroundMllpServer(
        world.centre.monitoring, clock=world.clock, max_batch=max_batch
    ) as server:
        start = time.perf_counter()
        per_monitor = asyncio.run(everyone(server.port))
        wall = time.perf_counter() - start
    seconds = sorted(s for one in per_monitor for s in one)
    cuts = statistics.quantiles(seconds, n=100) if len(seconds) > 1 else seconds * 99
    return {
        "per_s": len(seconds) / wall,
        "ack_p50_ms": cuts[49] * 1000,
        "ack_p99_ms": cuts[98] * 1000,
    }


def test_group_commit_ingestion_against_raw_inserts(
    benchmark: BenchmarkFixture, engine: Engine
) -> None:
    smoke = benchmark.disabled
    monitors_n = SMOKE_MONITORS if smoke else MONITORS
    count = SMOKE_PER_MONITOR if smoke else PER_MONITOR
    rounds = SMOKE_RAW_ROUNDS if smoke else RAW_ROUNDS
    world = build_world(sql_unit_of_work_factory(engine))
    monitors = [add_monitored_session(world, i) for i in range(monitors_n)]
    raw_before = raw_rate(engine, rounds, 0)
    alone = ingest(world, monitors, count, max_batch=1, tag="A")
    grouped = ingest(world, monitors, count, max_batch=64, tag="G")
    raw_after = raw_rate(engine, rounds, rounds)
    raw = (raw_before + raw_after) / 2
    figures = {
        "raw_per_s": raw,
        **{f"alone_{k}": v for k, v in alone.items()},
        **{f"grouped_{k}": v for k, v in grouped.items()},
        "ratio_alone": alone["per_s"] / raw,
        "ratio_grouped": grouped["per_s"] / raw,
    }
    benchmark.extra_info.update({k: round(v, 3) for k, v in figures.items()})
    print(
        f"\n[{engine.dialect.name}] {monitors_n} monitors x {count}: raw {raw:.0f}/s "
        f"({raw_before:.0f}, {raw_after:.0f}); one transaction per message "
        f"{alone['per_s']:.0f}/s ({figures['ratio_alone']:.2f}x, ACK p50 "
        f"{alone['ack_p50_ms']:.1f} p99 {alone['ack_p99_ms']:.1f} ms); group commit "
        f"{grouped['per_s']:.0f}/s ({figures['ratio_grouped']:.2f}x, ACK p50 "
        f"{grouped['ack_p50_ms']:.1f} p99 {grouped['ack_p99_ms']:.1f} ms)"
    )
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    with world.uow_factory() as uow:
        assert len(uow.device_messages.list()) == 2 * monitors_n * count

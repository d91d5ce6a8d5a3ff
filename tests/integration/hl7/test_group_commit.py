"""Group commit of device messages on SQLite and PostgreSQL: one transaction per batch, a
savepoint per message, so that a failing message never undoes the others; several listeners on
one PostgreSQL database never record a message twice (the idempotency key is the primary key
of ``device_messages``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msinfusion.adapters.hl7.mllp import BackgroundMllpServer, run_coroutine, send_frames
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.web import Settings
from msinfusion.application.monitoring import content_hash
from msinfusion.bootstrap import build_centre
from msinfusion.session.events import VitalsRecorded
from tests.e2e.api.world import NOW, World, build_world
from tests.integration.hl7.test_mllp import message, msa
from tests.pg_cluster import Cluster
from tests.transactions import CountingFactory

TRANSPORT = "hl7-mllp"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "batch.db")
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database(f"batch_{uuid.uuid4().hex[:8]}")


@pytest.fixture
def counted(database_url: str) -> Iterator[tuple[World, CountingFactory]]:
    engine = create_engine_for(database_url)
    upgrade(engine)
    factory = CountingFactory(sql_unit_of_work_factory(engine))
    try:
        yield build_world(factory), factory
    finally:
        engine.dispose()


def device_vitals(world: World) -> list[VitalsRecorded]:
    events = world.service.list_events(world.ids["session"])
    return [e for e in events if isinstance(e, VitalsRecorded) and e.user.startswith("device:")]


def test_a_batch_is_one_transaction_and_a_failing_message_does_not_poison_it(
    counted: tuple[World, CountingFactory],
) -> None:
    world, factory = counted
    feed = world.centre.monitoring
    first = message(world, "B1")
    future = message(world, "B3").replace(
        "20260302104500", "20260302114500"
    )  # measured an hour after its receipt: refused (clock-future)
    batch = [
        first,
        "this is not HL7",
        message(world, "B2"),
        message(world, "B4", bed="CHAIR 99"),
        future,
        first,  # a retransmission inside the same batch
        first.replace("|72|", "|80|"),  # the same control id with other content
    ]
    factory.reset()
    receipts = feed.ingest_many(TRANSPORT, [(text, NOW) for text in batch])
    assert factory.reset().writes == 1  # the whole batch: one durable commit
    assert [r.outcome for r in receipts] == [
        "accepted",
        "quarantined",
        "accepted",
        "quarantined",
        "quarantined",
        "duplicate",
        "quarantined",
    ]
    assert [r.reason_code for r in receipts if r.outcome == "quarantined"] == [
        "malformed",
        "unknown-patient",
        "refused:clock-future",
        "conflict",
    ]
    assert [msa(r.answer) for r in receipts] == ["AA", "AR", "AA", "AE", "AE", "AA", "AE"]
    assert receipts[5].answer == receipts[0].answer
    assert [v.heart_rate_bpm for v in device_vitals(world)] == [72, 72]  # B1 and B2 only
    with world.uow_factory() as uow:
        stored = {m.id: m for m in uow.device_messages.list()}
        held = sorted(q.reason_code for q in uow.quarantine.list())
    assert sorted(stored) == ["hl7:MON/0012345678901234:B1", "hl7:MON/0012345678901234:B2"]
    assert stored["hl7:MON/0012345678901234:B1"].content_sha256 == content_hash(first)
    assert held == ["conflict", "malformed", "refused:clock-future", "unknown-patient"]


def test_frames_arriving_together_share_commits_and_each_is_acknowledged(
    counted: tuple[World, CountingFactory],
) -> None:
    world, factory = counted
    connections, per_connection = 8, 6
    texts = [
        [message(world, f"C{c}-{i}") for i in range(per_connection)] for c in range(connections)
    ]

    async def send_all(port: int) -> list[list[str]]:
        return await asyncio.gather(*(send_frames("127.0.0.1", port, t) for t in texts))

    factory.reset()
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        answers = run_coroutine(lambda: send_all(server.port))
    commits = factory.reset().writes
    assert all(msa(a) == "AA" for per in answers for a in per)
    assert len(device_vitals(world)) == connections * per_connection
    assert commits < connections * per_connection  # readings that arrived together: one commit
    with world.uow_factory() as uow:
        assert len(uow.device_messages.list()) == connections * per_connection


def test_two_listeners_on_one_postgresql_database_record_each_message_once(
    postgres_cluster: Cluster,
) -> None:
    url = postgres_cluster.create_database(f"twin_{uuid.uuid4().hex[:8]}")
    engines = [create_engine_for(url), create_engine_for(url)]
    upgrade(engines[0])
    try:
        world = build_world(sql_unit_of_work_factory(engines[0]))
        twin = build_centre(
            Settings(), uow_factory=sql_unit_of_work_factory(engines[1]), clock=world.clock
        )
        monitors = 4
        texts = [[message(world, f"T{m}-{i}") for i in range(8)] for m in range(monitors)]

        async def both(first: int, second: int) -> list[list[str]]:
            # Every monitor sends each of its messages to both listeners at once.
            return await asyncio.gather(
                *(send_frames("127.0.0.1", first, t) for t in texts),
                *(send_frames("127.0.0.1", second, t) for t in texts),
            )

        with (
            BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as one,
            BackgroundMllpServer(twin.monitoring, clock=world.clock) as two,
        ):
            answers = run_coroutine(lambda: both(one.port, two.port))
        assert all(msa(a) == "AA" for per in answers for a in per)
        assert answers[:monitors] == answers[monitors:]  # the duplicate gets the first's answer
        assert len(device_vitals(world)) == monitors * 8
        with world.uow_factory() as uow:
            assert len(uow.device_messages.list()) == monitors * 8
            assert uow.quarantine.list() == []
    finally:
        for engine in engines:
            engine.dispose()


def test_a_message_measured_within_the_tolerance_is_accepted_in_a_batch(
    counted: tuple[World, CountingFactory],
) -> None:
    world, _ = counted
    later = NOW + timedelta(seconds=30)
    texts = [message(world, "W1"), message(world, "W2")]
    receipts = world.centre.monitoring.ingest_many(TRANSPORT, [(t, later) for t in texts])
    assert [r.outcome for r in receipts] == ["accepted", "accepted"]
    assert receipts[1].version == receipts[0].version + 1  # in order, in one stream


KINDS = ("new", "retransmitted", "conflicting", "malformed", "unknown-patient", "future")


def batch_of(world: World, kinds: list[str]) -> list[str]:
    """Messages of the given kinds, in order (a retransmission or conflict reuses the last
    new message's control id; with none yet it is a new message)."""
    texts: list[str] = []
    last: str | None = None
    for i, kind in enumerate(kinds):
        if kind == "new" or (last is None and kind in {"retransmitted", "conflicting"}):
            last = message(world, f"H{i}")
            texts.append(last)
        elif kind == "retransmitted" and last is not None:
            texts.append(last)
        elif kind == "conflicting" and last is not None:
            texts.append(last.replace("|72|", f"|{60 + i}|"))
        elif kind == "malformed":
            texts.append(f"not HL7 {i}")
        elif kind == "unknown-patient":
            texts.append(message(world, f"H{i}", bed="CHAIR 99"))
        else:
            texts.append(message(world, f"H{i}").replace("20260302104500", "20260302114500"))
    return texts


def stored_outcome(world: World) -> tuple[list[int | None], list[str], list[str]]:
    with world.uow_factory() as uow:
        keys = sorted(m.id for m in uow.device_messages.list())
        held = sorted(q.reason_code for q in uow.quarantine.list())
    return [v.heart_rate_bpm for v in device_vitals(world)], keys, held


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=2, max_size=9))
def test_a_batch_decides_what_its_messages_decide_one_by_one(
    kinds: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    engine = create_engine_for(sqlite_url(tmp_path_factory.mktemp("batch") / "b.db"))
    upgrade(engine)
    try:
        batched, alone = build_world(sql_unit_of_work_factory(engine)), build_world()
        texts = batch_of(batched, kinds)  # each world's own patient (PID-3)
        receipts = batched.centre.monitoring.ingest_many(TRANSPORT, [(t, NOW) for t in texts])
        oracle = [
            alone.centre.monitoring.ingest(TRANSPORT, t, now=NOW) for t in batch_of(alone, kinds)
        ]
        assert [(r.outcome, r.reason_code, msa(r.answer)) for r in receipts] == [
            (r.outcome, r.reason_code, msa(r.answer)) for r in oracle
        ]
        assert stored_outcome(batched) == stored_outcome(alone)
    finally:
        engine.dispose()

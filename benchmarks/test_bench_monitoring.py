"""Bedside-monitor load: N simulated monitors at 1 message/s each over loopback MLLP.

For SQLite (a WAL file, ``synchronous=FULL``) and PostgreSQL (a throw-away cluster, fsync on),
each step seeds N infusions in progress (one per chair) and runs N simulated monitors for
``SECONDS`` seconds, one PCD-01 message per second each (every monitor waits for its ACK, as
PCD-01 reporters do), with the synthetic reaction pattern from minute 2 so alerts fire
(``minutes_per_reading=1``: reading n is stream minute n). Reported per step:

* sustained messages/s (ACKs received / elapsed);
* ACK round trip p50/p99 (send -> ACK, the durable commit included);
* alert latency p50/p99: send of the message whose vitals raised an alert -> the
  ``alert-raised`` notice on the live bus (what ``GET /api/stream`` relays to the board).

The sweep is N in ``MONITORS`` (5, 10, 20, 40, 80), stopping at the first N whose alert p99 (or,
without alerts, ACK p99) reaches 1 s; the largest N under 1 s is reported. All traffic is
127.0.0.1; every loop is bounded by the message count. Environment knobs:
``MSINFUSION_BENCH_MONITOR_SECONDS`` (default 15) and ``MSINFUSION_BENCH_MONITORS``
("5,10,20,40,80"). Run with ``make bench``.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy import Engine

from msinfusion.adapters.hl7.mllp import BackgroundMllpServer, run_coroutine
from msinfusion.adapters.hl7.simulator import Monitor, SimulationReport, simulate_monitors
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.live import Notice
from msinfusion.application.records import Role
from tests.e2e.api.world import (
    NOW,
    PROTOCOL_ID,
    World,
    actor_for,
    build_world,
    patient_on_course,
    run_simulated,
)
from tests.pg_cluster import Cluster, running_cluster

SECONDS = float(os.environ.get("MSINFUSION_BENCH_MONITOR_SECONDS", "15"))
MONITORS = tuple(
    int(n) for n in os.environ.get("MSINFUSION_BENCH_MONITORS", "5,10,20,40,80").split(",")
)
TARGET_P99_S = 1.0


@dataclass(frozen=True)
class Step:
    database: str
    monitors: int
    messages: int
    elapsed_s: float
    ack_p50_ms: float
    ack_p99_ms: float
    alerts: int
    alert_p50_ms: float | None
    alert_p99_ms: float | None

    @property
    def rate(self) -> float:
        return self.messages / self.elapsed_s

    @property
    def p99_s(self) -> float:
        worst = self.alert_p99_ms if self.alert_p99_ms is not None else self.ack_p99_ms
        return worst / 1000

    def line(self) -> str:
        alert = (
            "-"
            if self.alert_p50_ms is None
            else f"{self.alert_p50_ms:.0f} / {self.alert_p99_ms:.0f}"
        )
        return (
            f"| {self.database} | {self.monitors} | {self.rate:.1f} | "
            f"{self.ack_p50_ms:.0f} / {self.ack_p99_ms:.0f} | {self.alerts} | {alert} |"
        )


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _seed(world: World, count: int) -> list[Monitor]:
    """``count`` infusions in progress, one per chair ``Bench <n>``; their monitors."""
    nurse, admin = actor_for(world, Role.NURSE), actor_for(world, Role.ADMIN)
    monitors = []
    physician = actor_for(world, Role.PHYSICIAN)
    for n in range(1, count + 1):
        # A synthetic patient on course (doses 1 and 2 given, screening on file) under an order.
        patient, order = patient_on_course(world.centre, physician, nurse, f"Synthetic Bench {n}")
        chair = world.centre.records.add_chair(admin, name=f"Bench {n}")
        appointment = world.centre.records.book_appointment(
            nurse,
            patient_id=patient.id,
            chair_id=chair.id,
            protocol_id=PROTOCOL_ID,
            dose_number=3,
            starts_at=NOW - timedelta(hours=2),
            order_id=order.id,
        )
        session = world.centre.sessions.open_session(nurse, appointment_id=appointment.id)
        run_simulated(world, session, patient.id, until=NOW)
        monitors.append(Monitor(bed=f"Bench {n}", patient_id=patient.id, serial=f"{n:016d}"))
    return monitors


Built = tuple[World, Engine]


def _run_step(database: str, factory: Callable[[], Built], count: int) -> Step:
    world, engine = factory()
    try:
        return _measure(database, world, count)
    finally:
        engine.dispose()


def _measure(database: str, world: World, count: int) -> Step:
    monitors = _seed(world, count)
    with world.uow_factory() as uow:
        index_of = {
            s.session_id: i
            for i, m in enumerate(monitors)
            for s in uow.sessions.list(status="infusing")
            if s.patient_id == m.patient_id
        }
    report = SimulationReport()
    alert_latencies: list[float] = []
    lock = threading.Lock()

    def listen(notice: Notice) -> None:
        if notice.kind != "alert-raised":
            return
        arrived = time.perf_counter()
        index = index_of.get(notice.data.get("session_id", ""))
        sent = None if index is None else report.last_sent_at.get(index)
        if sent is not None:
            with lock:
                alert_latencies.append(arrived - sent)

    world.centre.live.subscribe(listen)
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        started = time.perf_counter()
        run_coroutine(
            lambda: simulate_monitors(
                monitors,
                host="127.0.0.1",
                port=server.port,
                interval_s=1.0,
                count=int(SECONDS),
                reaction_at_min=2,
                minutes_per_reading=1,
                clock=world.clock,
                run_id=f"B{count}",
                report=report,
            )
        )
        elapsed = time.perf_counter() - started
    assert report.answers.get("AA", 0) == report.sent, report.answers
    acks = report.latencies_s
    return Step(
        database=database,
        monitors=count,
        messages=report.sent,
        elapsed_s=elapsed,
        ack_p50_ms=_quantile(acks, 0.5) * 1000,
        ack_p99_ms=_quantile(acks, 0.99) * 1000,
        alerts=len(alert_latencies),
        alert_p50_ms=_quantile(alert_latencies, 0.5) * 1000 if alert_latencies else None,
        alert_p99_ms=_quantile(alert_latencies, 0.99) * 1000 if alert_latencies else None,
    )


def _sweep(database: str, factory: Callable[[], Built]) -> list[Step]:
    steps = []
    for count in MONITORS:
        step = _run_step(database, factory, count)
        steps.append(step)
        print(step.line(), flush=True)
        if step.p99_s >= TARGET_P99_S:
            break
    return steps


def _report(steps: list[Step]) -> str:
    good = [s.monitors for s in steps if s.p99_s < TARGET_P99_S]
    header = (
        "| database | monitors | messages/s | ACK p50 / p99 ms | alerts | "
        "alert p50 / p99 ms |\n| --- | --- | --- | --- | --- | --- |"
    )
    largest = max(good) if good else "none"
    return "\n".join([header, *(s.line() for s in steps), f"largest N with p99 < 1 s: {largest}"])


@pytest.fixture(scope="module")
def postgres() -> Iterator[Cluster]:
    with running_cluster(durable=True) as cluster:
        yield cluster


def _world_on(url: str) -> Built:
    engine = create_engine_for(url)
    upgrade(engine)
    return build_world(sql_unit_of_work_factory(engine)), engine


def _sqlite_world(directory: Path) -> Built:
    directory.mkdir(parents=True, exist_ok=True)
    return _world_on(sqlite_url(directory / f"monitoring-{time.time_ns()}.db"))


def _postgres_world(cluster: Cluster) -> Built:
    """A fresh database per step (same cluster)."""
    return _world_on(cluster.create_database(f"bench_monitoring_{time.time_ns()}"))


def test_monitors_over_mllp_on_sqlite(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    factory = functools.partial(_sqlite_world, tmp_path)
    steps = benchmark.pedantic(_sweep, args=("sqlite", factory), rounds=1, iterations=1)
    benchmark.extra_info["table"] = _report(steps)
    print("\n" + _report(steps))


def test_monitors_over_mllp_on_postgresql(benchmark: BenchmarkFixture, postgres: Cluster) -> None:
    factory = functools.partial(_postgres_world, postgres)
    steps = benchmark.pedantic(_sweep, args=("postgresql", factory), rounds=1, iterations=1)
    benchmark.extra_info["table"] = _report(steps)
    print("\n" + _report(steps))

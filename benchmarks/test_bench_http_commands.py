"""Session commands over HTTP at 16 clients, next to a raw durable insert (issue 22).

For SQLite and PostgreSQL, in one run: 16 clients (threads, each its own FastAPI TestClient
and bearer token, each its own infusing session) post ``RecordVitals`` to
``POST /api/sessions/{id}/commands`` back to back (``expected_version`` from the last answer;
every answer must be 200); then 16 threads insert and commit one ~1 kB row per transaction
through the same engine (the raw reference at the same concurrency). Rate = requests over the
wall time; latency per request. Target: ≥ 0.30x raw, p99 < 100 ms (the TestClient's thread
hop and the JSON view of the session are inside each request). The heap built before the
clients start is frozen (``freeze_startup_heap``), as ``msinfusion serve`` does before serving.

With ``--benchmark-disable`` (the CI smoke run) 2 clients send 3 commands each.
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, insert

from benchmarks.test_bench_ingestion import add_monitored_session
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.records import Role
from msinfusion.entrypoints.server_cli import freeze_startup_heap
from tests.e2e.api.world import NOW, TestClient, World, build_world
from tests.pg_cluster import ClusterUnavailable, running_cluster

CLIENTS, PER_CLIENT = 16, 40
SMOKE_CLIENTS, SMOKE_PER_CLIENT = 2, 3
_scratch = MetaData()
raw_rows = Table(
    "bench_raw_commands",
    _scratch,
    Column("id", Integer, primary_key=True),
    Column("payload", Text),
)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    try:
        with running_cluster(durable=True) as cluster:
            yield cluster.create_database("http")
    except ClusterUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "http.db")
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine_for(url)
    upgrade(engine)
    _scratch.drop_all(engine)
    _scratch.create_all(engine)
    yield engine
    engine.dispose()


def concurrently(work: Callable[[int], list[float]], clients: int) -> tuple[list[float], float]:
    """Each client's latencies, pooled, and the wall time of all of them."""
    results: list[list[float]] = [[] for _ in range(clients)]

    def run(i: int) -> None:
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(s for one in results for s in one), time.perf_counter() - start


def summary(seconds: list[float], wall: float) -> dict[str, float]:
    cuts = statistics.quantiles(seconds, n=100)
    return {"per_s": len(seconds) / wall, "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def poster(world: World, sessions: list[str], count: int) -> Callable[[int], list[float]]:
    headers = {"Authorization": f"Bearer {world.tokens[Role.NURSE]}"}

    def post(i: int) -> list[float]:
        path = f"/api/sessions/{sessions[i]}/commands"
        seconds = []
        with TestClient(world.client.app, base_url="https://testserver") as client:
            version = client.get(f"/api/sessions/{sessions[i]}", headers=headers).json()["version"]
            for n in range(count):
                body = {
                    "expected_version": version,
                    "command": {
                        "command": "RecordVitals",
                        "at": NOW.isoformat(),
                        "heart_rate_bpm": 70 + n % 5,
                    },
                }
                start = time.perf_counter()
                response = client.post(path, json=body, headers=headers)
                seconds.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
                version = response.json()["version"]
        return seconds

    return post


def inserter(engine: Engine, count: int) -> Callable[[int], list[float]]:
    payload = "x" * 1000

    def insert_rows(i: int) -> list[float]:
        seconds = []
        for n in range(count):
            start = time.perf_counter()
            with engine.connect() as connection:
                connection.execute(insert(raw_rows).values(id=i * 100_000 + n, payload=payload))
                connection.commit()
            seconds.append(time.perf_counter() - start)
        return seconds

    return insert_rows


def test_http_commands_at_16_clients_against_raw_inserts(
    benchmark: BenchmarkFixture, engine: Engine
) -> None:
    smoke = benchmark.disabled
    clients = SMOKE_CLIENTS if smoke else CLIENTS
    count = SMOKE_PER_CLIENT if smoke else PER_CLIENT
    world = build_world(sql_unit_of_work_factory(engine))
    for i in range(clients):
        add_monitored_session(world, i)
    with world.uow_factory() as uow:
        sessions = sorted(s.session_id for s in uow.sessions.list(status="infusing"))[:clients]
    freeze_startup_heap()  # as ``msinfusion serve`` does before it serves
    try:
        commands = summary(*concurrently(poster(world, sessions, count), clients))
        raw = summary(*concurrently(inserter(engine, count), clients))
    finally:
        gc.unfreeze()  # the next benchmarks' garbage is collectable again
    ratio = commands["per_s"] / raw["per_s"]
    benchmark.extra_info.update(
        {f"raw_{k}": round(v, 3) for k, v in raw.items()}
        | {f"command_{k}": round(v, 3) for k, v in commands.items()}
        | {"ratio": round(ratio, 3)}
    )
    print(
        f"\n[{engine.dialect.name}] {clients} clients x {count}: raw {raw['per_s']:.0f}/s "
        f"(p50 {raw['p50_ms']:.1f}, p99 {raw['p99_ms']:.1f} ms); HTTP RecordVitals "
        f"{commands['per_s']:.0f}/s (p50 {commands['p50_ms']:.1f}, p99 "
        f"{commands['p99_ms']:.1f} ms); ratio {ratio:.2f}"
    )
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert len(sessions) == clients
    assert Fraction(commands["per_s"]) > 0

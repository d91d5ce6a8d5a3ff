"""Durable command throughput on SQLite and PostgreSQL, next to each database's raw insert rate.

For each database, in the same run: (1) the raw rate — one 300-byte row inserted and committed
per transaction through the same engine (same pragmas, same durability); (2) the command rate —
``SessionService.handle(RecordVitals, expected_version=n)`` on a running infusion, each command
decided, stored with its board summary and committed before it returns. The ratio command/raw
says what the event store and projection cost on top of a bare durable insert. PostgreSQL is a
throw-away cluster with fsync on (``tests/pg_cluster.py``). The two are measured interleaved, one
raw insert then one command, so both meet the same disk. Run with ``make bench``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, insert

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.sessions import SessionService
from msinfusion.catalog import shipped_catalog
from msinfusion.session import commands as cmd
from tests.pg_cluster import ClusterUnavailable, running_cluster
from tests.unit.session.helpers import at, premedicate, protocol

ROUNDS = 500
WARM_UP = 50
PROTOCOL = "ocrelizumab-600-standard"
_scratch = MetaData()
raw_rows = Table(
    "bench_raw_rows", _scratch, Column("id", Integer, primary_key=True), Column("payload", Text)
)
PAYLOAD = "x" * 300


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    try:
        with running_cluster(durable=True) as cluster:
            yield cluster.create_database("bench")
    except ClusterUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "bench.db")
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine_for(url)
    upgrade(engine)
    _scratch.drop_all(engine)
    _scratch.create_all(engine)
    yield engine
    engine.dispose()


def _timed(action: Callable[[int], object], rounds: int, *, first: int = 0) -> list[float]:
    seconds = []
    for i in range(first, first + rounds):
        start = time.perf_counter()
        action(i)
        seconds.append(time.perf_counter() - start)
    return seconds


def _summary(seconds: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(seconds, n=100)
    return {
        "per_s": len(seconds) / sum(seconds),
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def _raw_insert(engine: Engine) -> Callable[[int], object]:
    def insert_one(i: int) -> None:
        with engine.connect() as connection:
            connection.execute(insert(raw_rows).values(id=i, payload=PAYLOAD))
            connection.commit()

    return insert_one


def _started_session(engine: Engine) -> tuple[SessionService, str]:
    service = SessionService(shipped_catalog(), unit_of_work=sql_unit_of_work_factory(engine))
    session = service.create_session()
    service.handle(
        session,
        cmd.CheckIn(
            at=at(-150), user="nurse-a", patient_id="p-1", protocol_id=PROTOCOL, dose_number=3
        ),
    )
    service.handle(session, cmd.RecordAssessment(at=at(-145), user="nurse-a", passed=True))
    premedicate(service, session, PROTOCOL)
    rate = Fraction(protocol(PROTOCOL).ladder.steps[0].rate_ml_per_h)
    service.handle(session, cmd.StartInfusion(at=at(0), user="nurse-a", rate_ml_per_h=rate))
    return service, session


def test_command_throughput_against_raw_inserts(
    benchmark: BenchmarkFixture, engine: Engine, request: pytest.FixtureRequest
) -> None:
    insert_one = _raw_insert(engine)
    service, session = _started_session(engine)
    version = [service.get_version(session)]

    def command(i: int) -> None:
        vitals = cmd.RecordVitals(
            at=at(Fraction(i, 100)), user="nurse-a", spo2_pct=Fraction(97 + i % 3)
        )
        service.handle(session, vitals, expected_version=version[0])
        version[0] += 1

    raw_seconds: list[float] = []
    command_seconds: list[float] = []
    for i in range(WARM_UP + ROUNDS):  # interleaved, so both meet the same disk conditions
        raw_one = _timed(insert_one, 1, first=i)
        command_one = _timed(command, 1, first=i)
        if i >= WARM_UP:
            raw_seconds += raw_one
            command_seconds += command_one
    raw, commands = _summary(raw_seconds), _summary(command_seconds)
    ratio = commands["per_s"] / raw["per_s"]
    benchmark.extra_info.update(
        {f"raw_{k}": round(v, 3) for k, v in raw.items()}
        | {f"command_{k}": round(v, 3) for k, v in commands.items()}
        | {"ratio_command_to_raw": round(ratio, 3)}
    )
    print(
        f"\n[{engine.dialect.name}] raw insert+commit {raw['per_s']:.0f}/s "
        f"(p50 {raw['p50_ms']:.2f} ms, p99 {raw['p99_ms']:.2f} ms); "
        f"command {commands['per_s']:.0f}/s (p50 {commands['p50_ms']:.2f} ms, "
        f"p99 {commands['p99_ms']:.2f} ms); ratio {ratio:.2f}"
    )
    benchmark.pedantic(command, args=(WARM_UP + ROUNDS,), rounds=1, iterations=1)
    assert service.get_version(session) == version[0]

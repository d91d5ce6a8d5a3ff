"""The one command path on SQLite: the chairside form's round trip, transactions per command,
and the board refresh as the board fills.

All three run on a SQLite file in ``tmp_path`` (WAL, ``synchronous=FULL``), with the synthetic
centre of ``tests/e2e/api/world.py`` behind the FastAPI TestClient:

1. Chairside round trip: a signed-in nurse posts ``RecordVitals`` from the chairside form
   (``POST /sessions/{id}/commands/RecordVitals``, CSRF token and ``expected_version``, as HTMX
   sends it), next to a raw durable insert (one 300-byte row, one transaction) into the same
   database, interleaved so both meet the same disk. The ratio POST/raw is what authentication,
   the engine, the event store, the projection and the rendered fragment cost on top of a
   bare durable insert.
2. Transactions per command (``tests.transactions.CountingFactory``): the chairside form POST
   (``ChangeRate`` and ``RecordVitals``), the JSON ``POST /api/sessions/{id}/commands`` and a
   device reading through ``centre.monitoring.ingest("rest", ...)``. The design promises one
   write each; the form and the API may add the one read of authentication (the principal),
   a device reading is one transaction in all. At c580b74 (before the one command path) the
   chairside ``ChangeRate`` POST took 6 reads + 4 writes = 10 transactions.
3. Board refresh: ``GET /api/board`` and the fragment the page polls (``GET /ui/board``) with
   6, 30 and 60 running sessions on the board, as a ratio against 6; the transactions per
   refresh must not grow with the board.

With ``--benchmark-disable`` (the CI smoke run) every part runs with a few rounds only.
Run with ``make bench``; results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import functools
import json
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, insert

from msinfusion.adapters.storage import create_engine_for
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.audit import system_actor
from msinfusion.application.records import Role
from msinfusion.bootstrap import build_unit_of_work_factory
from tests.e2e.api.world import (
    NOW,
    PROTOCOL_ID,
    World,
    actor_for,
    build_world,
    patient_on_course,
    run_simulated,
)
from tests.transactions import CountingFactory, Counts
from tests.unit.adapters.web.test_ui_routes import page_fields, sign_in

ROUNDS = 200
WARM_UP = 20
BOARD_ROUNDS = 15
BOARD_SIZES = (6, 30, 60)
SMOKE_ROUNDS = 3
_scratch = MetaData()
raw_rows = Table(
    "bench_raw_rows", _scratch, Column("id", Integer, primary_key=True), Column("payload", Text)
)
PAYLOAD = "x" * 300
NORMAL_VITALS = {
    "heart_rate_bpm": "72",
    "systolic_mmhg": "122",
    "diastolic_mmhg": "78",
    "respiratory_rate_per_min": "14",
    "spo2_pct": "98",
    "temperature_c": "36.8",
}


@pytest.fixture
def database(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "bench.db")


@pytest.fixture
def counted(database: str) -> CountingFactory:
    return CountingFactory(build_unit_of_work_factory(database))


@pytest.fixture
def raw_engine(database: str, counted: CountingFactory) -> Iterator[Engine]:
    """A second engine on the same file (same pragmas), for the raw inserts."""
    engine = create_engine_for(database)
    _scratch.create_all(engine)
    yield engine
    engine.dispose()


def _rounds(benchmark: BenchmarkFixture, full: int) -> int:
    return SMOKE_ROUNDS if benchmark.disabled else full


def _summary(seconds: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(seconds, n=100)
    return {
        "per_s": len(seconds) / sum(seconds),
        "p50_ms": statistics.median(seconds) * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


class Chairside:
    """A nurse at the chair: posts ``RecordVitals`` forms, one second apart on the app's clock."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.path = f"/sessions/{world.ids['session']}"
        sign_in(world, Role.NURSE)
        self.fields = page_fields(world.client.get(self.path).text, "RecordVitals")

    def post(self) -> Any:
        self.world.clock.advance(timedelta(seconds=1))
        answer = self.world.client.post(
            f"{self.path}/commands/RecordVitals",
            data={**self.fields, **NORMAL_VITALS},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200, answer.text
        return answer

    def send(self) -> None:
        self.fields = page_fields(self.post().text, "RecordVitals")


def test_chairside_form_post_against_raw_inserts(
    benchmark: BenchmarkFixture, counted: CountingFactory, raw_engine: Engine
) -> None:
    world = build_world(counted)
    nurse = Chairside(world)

    def insert_one(i: int) -> None:
        with raw_engine.connect() as connection:
            connection.execute(insert(raw_rows).values(id=i, payload=PAYLOAD))
            connection.commit()

    warm_up, rounds = _rounds(benchmark, WARM_UP), _rounds(benchmark, ROUNDS)
    raw_seconds: list[float] = []
    post_seconds: list[float] = []
    for i in range(warm_up + rounds):  # interleaved, so both meet the same disk conditions
        raw_one = _timed(functools.partial(insert_one, i))
        start = time.perf_counter()
        answer = nurse.post()
        post_one = time.perf_counter() - start
        nurse.fields = page_fields(answer.text, "RecordVitals")  # the next form, not timed
        if i >= warm_up:
            raw_seconds.append(raw_one)
            post_seconds.append(post_one)
    raw, posts = _summary(raw_seconds), _summary(post_seconds)
    ratio = raw["per_s"] / posts["per_s"]
    benchmark.extra_info.update(
        {f"raw_{k}": round(v, 3) for k, v in raw.items()}
        | {f"post_{k}": round(v, 3) for k, v in posts.items()}
        | {"ratio_post_time_to_raw_insert": round(ratio, 2)}
    )
    print(
        f"\n[sqlite] raw insert+commit {raw['per_s']:.0f}/s (p50 {raw['p50_ms']:.2f} ms, "
        f"p99 {raw['p99_ms']:.2f} ms); chairside RecordVitals POST {posts['per_s']:.0f}/s "
        f"(p50 {posts['p50_ms']:.2f} ms, p99 {posts['p99_ms']:.2f} ms); "
        f"a POST costs {ratio:.1f} raw inserts"
    )
    counted.reset()
    benchmark.pedantic(nurse.send, rounds=1, iterations=1)
    assert counted.reset() == Counts(reads=1, writes=1)


def _counted(counted: CountingFactory, action: Callable[[], object]) -> Counts:
    counted.reset()
    action()
    return counted.reset()


def test_transactions_per_command(benchmark: BenchmarkFixture, counted: CountingFactory) -> None:
    world = build_world(counted)
    world.clock.advance(timedelta(minutes=41))  # the ladder's next rate step is due
    session = world.ids["session"]
    path = f"/sessions/{session}"
    sign_in(world, Role.NURSE)
    page = world.client.get(path).text
    found: dict[str, Counts] = {}

    def change_rate() -> None:
        answer = world.client.post(
            f"{path}/commands/ChangeRate",
            data=page_fields(page, "ChangeRate"),
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200, answer.text

    found["form ChangeRate"] = _counted(counted, change_rate)
    nurse = Chairside(world)
    found["form RecordVitals"] = _counted(counted, nurse.send)
    principal = _counted(
        counted, lambda: world.centre.accounts.get_principal(world.user_ids[Role.NURSE])
    )
    version = int(nurse.fields["expected_version"])

    def json_command() -> None:
        world.clock.advance(timedelta(seconds=1))
        vitals = {"command": "RecordVitals", "at": world.clock().isoformat(), "heart_rate_bpm": 72}
        answer = world.request(
            Role.NURSE,
            "POST",
            f"/api/sessions/{session}/commands",
            json={"expected_version": version, "command": vitals},
        )
        assert answer.status_code == 200, answer.text

    found["JSON command"] = _counted(counted, json_command)
    accounts = world.centre.accounts
    cached_token = _counted(counted, lambda: accounts.authenticate_token(world.tokens[Role.NURSE]))
    accounts.clear_token_cache()
    token = _counted(counted, lambda: accounts.authenticate_token(world.tokens[Role.NURSE]))
    readings = iter(range(10**9))

    def device_reading() -> None:
        world.clock.advance(timedelta(seconds=1))
        document = {
            "idempotency_key": f"bench-{next(readings)}",
            "sender": "monitor-01",
            "chair": "Chair 1",
            "observed_at": world.clock().isoformat(),
            "observations": [{"system": "LOINC", "code": "8867-4", "value": 72, "unit": "/min"}],
        }
        receipt = world.centre.monitoring.ingest("rest", json.dumps(document), now=world.clock())
        assert receipt.outcome == "accepted", receipt

    found["device reading"] = _counted(counted, device_reading)
    counted.reset()
    benchmark.pedantic(device_reading, rounds=1, iterations=1)
    assert counted.reset() == found["device reading"]
    benchmark.extra_info.update(
        {f"{name}: reads/writes": f"{c.reads}/{c.writes}" for name, c in found.items()}
        | {"authentication reads (principal/token)": f"{principal.reads}/{token.reads}"}
    )
    print()
    for name, c in found.items():
        print(f"[sqlite] {name}: {c.reads} read + {c.writes} write = {c.total} transactions")
    print(f"[sqlite] authentication alone: principal {principal}, bearer token {token}")
    assert principal == Counts(reads=1)
    assert token == Counts(reads=1)  # a token not seen for 5 s: one read-only transaction
    assert cached_token == Counts()  # seen within 5 s: the principal cache (principal_cache.py)
    for name in ("form ChangeRate", "form RecordVitals"):
        assert found[name].writes == 1, found
        assert found[name].reads <= principal.reads, found
    assert found["JSON command"].writes == 1, found
    assert found["JSON command"].reads <= token.reads, found
    assert found["device reading"].total == 1, found


def add_running_sessions(world: World, count: int) -> None:
    """``count`` more patients, each booked today on a chair of their own and infusing now."""
    system, physician = system_actor(NOW), actor_for(world, Role.PHYSICIAN)
    nurse = actor_for(world, Role.NURSE)
    centre, first = world.centre, sum(key.startswith("bench-") for key in world.ids)
    for n in range(first, first + count):
        chair = centre.records.add_chair(system, name=f"Bench chair {n}")
        patient, order = patient_on_course(centre, physician, nurse, f"Synthetic Patient B{n}")
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
        run_simulated(world, session, patient.id, until=NOW)
        world.ids[f"bench-session-{n}"] = session


def test_board_refresh_as_the_board_fills(
    benchmark: BenchmarkFixture, counted: CountingFactory
) -> None:
    world = build_world(counted)  # one running session today (and one booking tomorrow)
    sign_in(world, Role.NURSE)
    on_board = 1
    rounds = _rounds(benchmark, BOARD_ROUNDS)

    def api() -> None:
        answer = world.request(Role.NURSE, "GET", "/api/board")
        assert answer.status_code == 200
        assert len(answer.json()) == on_board

    def fragment() -> None:
        answer = world.client.get("/ui/board", headers={"HX-Request": "true"})
        assert answer.status_code == 200
        assert answer.text.count('data-testid="status"') == on_board

    results: dict[str, dict[int, dict[str, Any]]] = {"api": {}, "fragment": {}}
    for size in BOARD_SIZES:
        add_running_sessions(world, size - on_board)
        on_board = size
        for name, refresh in (("api", api), ("fragment", fragment)):
            counts = _counted(counted, refresh)
            seconds = [_timed(refresh) for _ in range(rounds)]
            results[name][size] = {"ms": statistics.median(seconds) * 1000, "counts": counts}
    print()
    for name, by_size in results.items():
        base = by_size[BOARD_SIZES[0]]["ms"]
        for size, found in by_size.items():
            c = found["counts"]
            ratio = found["ms"] / base
            benchmark.extra_info[f"{name}_{size}_p50_ms"] = round(found["ms"], 2)
            benchmark.extra_info[f"{name}_{size}_ratio_to_{BOARD_SIZES[0]}"] = round(ratio, 2)
            benchmark.extra_info[f"{name}_{size}_reads/writes"] = f"{c.reads}/{c.writes}"
            print(
                f"[sqlite] board {name} with {size} sessions: p50 {found['ms']:.2f} ms, "
                f"{ratio:.2f} x the {BOARD_SIZES[0]}-session board; "
                f"{c.reads} read + {c.writes} write"
            )
        assert len({str(f["counts"]) for f in by_size.values()}) == 1, by_size  # not per row
    # The bearer token was seen within 5 s (principal cache): no read; the audited read's write.
    assert results["api"][BOARD_SIZES[0]]["counts"] == Counts(reads=0, writes=1)
    benchmark.pedantic(api, rounds=1, iterations=1)

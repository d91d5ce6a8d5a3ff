"""Session reads, the start gate and the board as the store grows (issue 22).

Two ratios and the board, each measured side by side in one run (the sizes interleaved, so
both meet the same machine load):

1. ``StartInfusion`` through ``SessionUseCases.handle`` (decide, the start gates, the bag
   check, the audit entry, one commit), on SQLite and PostgreSQL, with ``LARGE_STORE`` stored
   sessions of other patients in the database, against ``SMALL_STORE``. The stored sessions
   are whole visits copied from the synthetic centre's infusing session (their events,
   summaries, appointments and patients), bulk-inserted with their hash chains. Every timed
   start is a fresh patient on course, checked in and premedicated (not timed). Target: ratio
   ≤ 1.5.
2. The session view (``SessionUseCases.get``: one audited read, the live view at now) of a
   session with ``LONG_TAIL`` vital-sign entries after its start, against ``SHORT_TAIL``
   (issue 22: a 10,004-event session against a 104-event one). The tails are decided by the
   engine and appended in one transaction. Target: ratio ≤ 2. Also reported, not targeted: the
   first view in a fresh process (a cold cache replays the stream once) and one
   ``RecordVitals`` command on each session. On SQLite.

3. The board (``RecordQueries.get_board``: the day's rows at now, one audited read) with
   ``BOARD_ROWS`` infusing sessions on it, each patient with ``PAST_VISITS`` earlier sessions:
   warm (this process's cache) and cold (a fresh process). Reported, not targeted (issue 22:
   "a 1,000-row board takes 1.2 s").

With ``--benchmark-disable`` (the CI smoke run) all run at small sizes with a few rounds.
Run with ``make bench``; results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy import Engine, insert, select

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, tables, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.web import Settings
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.application.records import Role
from msinfusion.application.session_streams import SessionStreams
from msinfusion.application.sessions import SessionService
from msinfusion.bootstrap import build_centre
from msinfusion.catalog import shipped_catalog
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session.codec import event_to_dict
from msinfusion.session.decide import decide
from msinfusion.session.evolve import evolve
from msinfusion.session.interchange import command_to_dict
from tests.e2e.api.world import NOW, PROTOCOL_ID, World, actor_for, build_world
from tests.integration.storage.test_start_gate_queries import (
    StartAtTheChair,
    copied_events,
    store_sessions,
)
from tests.pg_cluster import Cluster, ClusterUnavailable, running_cluster

SMALL_STORE, LARGE_STORE = 10, 10_000
SHORT_TAIL, LONG_TAIL = 100, 10_000
SMOKE_STORE, SMOKE_TAIL = 100, 300
START_ROUNDS, VIEW_ROUNDS, SMOKE_ROUNDS = 7, 30, 2


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _world(
    engines: list[Engine], tmp_path: Path, name: str, cluster: Cluster | None = None
) -> World:
    """The synthetic centre on a SQLite file, or on a new database of ``cluster``; its engine
    is ``engines[-1]`` (disposed after the test)."""
    if cluster is None:
        url = sqlite_url(tmp_path / f"{name}.db")
    else:
        url = cluster.create_database(name.replace("-", "_"))
    engines.append(create_engine_for(url))
    upgrade(engines[-1])
    return build_world(sql_unit_of_work_factory(engines[-1]))


@pytest.fixture(scope="module")
def postgres() -> Iterator[Cluster]:
    try:
        with running_cluster(durable=True) as cluster:
            yield cluster
    except ClusterUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.dispose()


# -- 1. StartInfusion against the number of stored sessions ------------------------------------


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_start_infusion_against_stored_sessions(
    benchmark: BenchmarkFixture,
    tmp_path: Path,
    engines: list[Engine],
    database: str,
    request: pytest.FixtureRequest,
) -> None:
    large = SMOKE_STORE if benchmark.disabled else LARGE_STORE
    rounds = SMOKE_ROUNDS if benchmark.disabled else START_ROUNDS
    cluster = request.getfixturevalue("postgres") if database == "postgresql" else None
    chairs: dict[int, StartAtTheChair] = {}
    for size in (SMALL_STORE, large):
        world = _world(engines, tmp_path, f"store-{size}", cluster)
        store_sessions(engines[-1], world, size)
        chairs[size] = StartAtTheChair(world)
    seconds: dict[int, list[float]] = {size: [] for size in chairs}
    for _ in range(rounds):  # interleaved: both sizes meet the same load
        for size, chair in chairs.items():
            ready = chair.ready()
            seconds[size].append(_timed(lambda c=chair, r=ready: c.start(*r)))
    small_ms = statistics.median(seconds[SMALL_STORE]) * 1000
    large_ms = statistics.median(seconds[large]) * 1000
    ratio = large_ms / small_ms
    benchmark.extra_info.update(
        {f"start_{SMALL_STORE}_ms": round(small_ms, 2), f"start_{large}_ms": round(large_ms, 2)}
        | {"ratio": round(ratio, 2)}
    )
    print(
        f"\n[{database}] StartInfusion with {SMALL_STORE} stored sessions: p50 {small_ms:.2f} ms; "
        f"with {large}: p50 {large_ms:.2f} ms; ratio {ratio:.2f}"
    )
    chair = chairs[large]
    ready = chair.ready()
    benchmark.pedantic(chair.start, args=ready, rounds=1, iterations=1)


# -- 2. The session view against the session's length --------------------------------------------

NORMAL = {
    "systolic_mmhg": Fraction(122),
    "diastolic_mmhg": Fraction(78),
    "heart_rate_bpm": Fraction(72),
    "spo2_pct": Fraction(98),
    "temperature_c": Fraction(368, 10),
    "respiratory_rate_per_min": Fraction(14),
}


def append_vitals(world: World, count: int) -> int:
    """``count`` normal vital-sign entries on the world's infusing session, decided by the
    engine (as ``decide_in`` would, in order) and appended in one transaction; the version."""
    session = world.ids["session"]
    service = SessionService(shipped_catalog(), unit_of_work=world.uow_factory)
    chart = service.get_chart(session)
    protocol = shipped_catalog().get_protocol(PROTOCOL_ID)
    state, last = chart.state, chart.state.last_at
    assert last is not None
    assert last < NOW
    step = (NOW - last) / (count + 1)
    stored: list[dict[str, Any]] = []
    for i in range(1, count + 1):
        at = last + step * i
        command = cmd.RecordVitals(at=at, user="nurse1", recorded_at=at, **NORMAL)
        events = [replace(e, recorded_at=at) for e in decide(state, command, protocol)]
        assert not any(isinstance(e, ev.AlertRaised) for e in events)
        for event in events:
            state = evolve(state, event)
        payloads = [event_to_dict(e) for e in events]
        payloads[0]["command"] = command_to_dict(command)
        stored += payloads
    with world.uow_factory() as uow:
        version = uow.events.append(session, stored, expected_version=chart.version)
        uow.commit()
    return version


def write_snapshot(world: World) -> int:
    """A stored snapshot of the world's session as it is now (the tails above were appended
    in bulk, without the snapshots commands write every ``SNAPSHOT_EVERY`` events)."""
    streams = SessionStreams(shipped_catalog())
    with world.uow_factory() as uow:
        version = streams.write_snapshot_in(uow, world.ids["session"])
        uow.commit()
    return version


def test_session_view_against_session_length(
    benchmark: BenchmarkFixture, tmp_path: Path, engines: list[Engine]
) -> None:
    long = SMOKE_TAIL if benchmark.disabled else LONG_TAIL
    rounds = SMOKE_ROUNDS if benchmark.disabled else VIEW_ROUNDS
    worlds: dict[int, World] = {}
    versions: dict[int, int] = {}
    cold: dict[int, float] = {}
    for tail in (SHORT_TAIL, long):
        world = _world(engines, tmp_path, f"tail-{tail}")
        versions[tail] = append_vitals(world, tail)
        worlds[tail] = world

    def view(world: World) -> None:
        nurse = actor_for(world, Role.NURSE)
        read = world.centre.sessions.get(nurse, world.ids["session"], at=None, display_tz=UTC)
        assert read.version == read.view.events

    snapshot_cold: dict[int, float] = {}
    for tail, world in worlds.items():
        nurse = actor_for(world, Role.NURSE)
        for found in (cold, snapshot_cold):  # without a stored snapshot, then with one
            if found is snapshot_cold:
                write_snapshot(world)
            fresh = build_centre(
                Settings(),
                uow_factory=world.uow_factory,
                hasher=Argon2Hasher.fast(),
                clock=world.clock,
            )
            found[tail] = _timed(
                lambda c=fresh, n=nurse, w=world: c.sessions.get(
                    n, w.ids["session"], at=None, display_tz=UTC
                )
            )
        view(world)  # warm this process's cache, as a chairside page does by polling
    seconds: dict[int, list[float]] = {tail: [] for tail in worlds}
    for _ in range(rounds):
        for tail, world in worlds.items():
            seconds[tail].append(_timed(lambda w=world: view(w)))
    command: dict[int, float] = {}
    for tail, world in worlds.items():
        nurse = actor_for(world, Role.NURSE)
        vitals = cmd.RecordVitals(at=NOW, user=nurse.username, **NORMAL)
        command[tail] = _timed(
            lambda w=world, n=nurse, v=vitals, t=tail: w.centre.sessions.handle(
                n, w.ids["session"], v, expected_version=versions[t], display_tz=UTC
            )
        )
    short_ms = statistics.median(seconds[SHORT_TAIL]) * 1000
    long_ms = statistics.median(seconds[long]) * 1000
    ratio = long_ms / short_ms
    info = {
        f"view_{versions[SHORT_TAIL]}_events_ms": round(short_ms, 2),
        f"view_{versions[long]}_events_ms": round(long_ms, 2),
        "ratio": round(ratio, 2),
        **{f"cold_view_{versions[t]}_events_ms": round(s * 1000, 1) for t, s in cold.items()},
        **{
            f"cold_view_snapshot_{versions[t]}_events_ms": round(s * 1000, 1)
            for t, s in snapshot_cold.items()
        },
        **{f"command_{versions[t]}_events_ms": round(s * 1000, 1) for t, s in command.items()},
    }
    benchmark.extra_info.update(info)
    print(
        f"\n[sqlite] session view, {versions[SHORT_TAIL]} events: p50 {short_ms:.2f} ms; "
        f"{versions[long]} events: p50 {long_ms:.2f} ms; ratio {ratio:.2f}; "
        + "; ".join(f"{k} {v}" for k, v in info.items() if k.startswith(("cold", "command")))
    )
    world = worlds[long]
    benchmark.pedantic(view, args=(world,), rounds=1, iterations=1)


# -- 3. The board against its number of rows -----------------------------------------------------

BOARD_ROWS, SMOKE_BOARD_ROWS = (60, 1_000), (6, 60)
PAST_VISITS = 2
BOARD_ROUNDS = 7


def store_board(engine: Engine, world: World, count: int) -> None:
    """``count`` more rows on today's board: the world's infusing session copied (events,
    summary, appointment) for ``count`` new patients, each with ``PAST_VISITS`` earlier
    sessions of theirs (the reaction history the board reads per patient), bulk-inserted."""
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
            patient_id = f"board-patient-{n}"
            patients.append({**patient, "id": patient_id, "identifiers": ()})
            for visit in range(PAST_VISITS + 1):
                stored_id, days = f"board-session-{n}-{visit}", timedelta(days=28 * visit)
                state = summary.get("state")  # the folded state, where the branch keeps one
                if state is not None:
                    state = replace(state, patient_id=patient_id)
                summaries.append(
                    {**summary, "session_id": stored_id, "patient_id": patient_id}
                    | ({} if "state" not in summary else {"state": state})
                )
                appointments.append(
                    {
                        **appointment,
                        "id": f"board-appointment-{n}-{visit}",
                        "patient_id": patient_id,
                        "order_id": None,
                        "session_id": stored_id,
                        "starts_at": appointment["starts_at"] - days,
                        "ends_at": appointment["ends_at"] - days,
                    }
                )
                rows += copied_events(events, stored_id, patient_id)
        connection.execute(insert(tables.patients), patients)
        connection.execute(insert(tables.appointments), appointments)
        connection.execute(insert(tables.session_summaries), summaries)
        connection.execute(insert(tables.session_events), rows)


def test_board_against_its_rows(
    benchmark: BenchmarkFixture, tmp_path: Path, engines: list[Engine]
) -> None:
    sizes = SMOKE_BOARD_ROWS if benchmark.disabled else BOARD_ROWS
    rounds = SMOKE_ROUNDS if benchmark.disabled else BOARD_ROUNDS
    worlds: dict[int, World] = {}
    for size in sizes:
        world = _world(engines, tmp_path, f"board-{size}")
        store_board(engines[-1], world, size - 1)  # the world's own session is on it
        worlds[size] = world

    def board(world: World, centre: Any) -> int:
        nurse = actor_for(world, Role.NURSE)
        return len(centre.queries.get_board(nurse, NOW.date(), UTC))

    cold: dict[int, float] = {}
    for size, world in worlds.items():
        fresh = build_centre(
            Settings(), uow_factory=world.uow_factory, hasher=Argon2Hasher.fast(), clock=world.clock
        )
        cold[size] = _timed(lambda w=world, c=fresh: board(w, c))
        assert board(world, world.centre) >= size
    seconds: dict[int, list[float]] = {size: [] for size in worlds}
    for _ in range(rounds):  # interleaved: both sizes meet the same load
        for size, world in worlds.items():
            seconds[size].append(_timed(lambda w=world: board(w, w.centre)))
    warm = {size: statistics.median(s) * 1000 for size, s in seconds.items()}
    small, large = sizes
    info = {
        **{f"board_{s}_rows_ms": round(ms, 1) for s, ms in warm.items()},
        **{f"cold_board_{s}_rows_ms": round(t * 1000, 1) for s, t in cold.items()},
        "ratio": round(warm[large] / warm[small], 2),
    }
    benchmark.extra_info.update(info)
    print("\n[sqlite] " + "; ".join(f"{k} {v}" for k, v in info.items()))
    world = worlds[large]
    benchmark.pedantic(board, args=(world, world.centre), rounds=1, iterations=1)

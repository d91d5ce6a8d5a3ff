"""Clinical time through the API and MLLP, on SQLite and PostgreSQL: a monitor reading older
than the nurse's last entry is charted and alerts the board; an entry from the future (an API
command dated 2199, a monitor an hour fast) is refused and never blocks the real-time ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from msinfusion.adapters.hl7.mllp import BackgroundMllpServer, send_frames_sync
from msinfusion.adapters.hl7.simulator import Monitor, Reading, pcd01_message
from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, World, build_world
from tests.pg_cluster import Cluster, postgres_cluster  # noqa: F401  (a fixture)

NORMAL = Reading(
    heart_rate_bpm=74,
    spo2_pct=97,
    systolic_mmhg=118,
    diastolic_mmhg=76,
    respiratory_rate_per_min=16,
    temperature_c=Decimal("36.8"),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def stored_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "time.db")
    else:
        cluster: Cluster = request.getfixturevalue("postgres_cluster")
        url = cluster.create_database(f"time_{uuid.uuid4().hex[:8]}")
    engine = create_engine_for(url)
    upgrade(engine)
    yield build_world(sql_unit_of_work_factory(engine))
    engine.dispose()


def _command(world: World, body: dict[str, Any]) -> Any:
    version = world.service.get_version(world.ids["session"])
    return world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{world.ids['session']}/commands",
        json={"expected_version": version, "command": body},
    )


def _patient(world: World) -> str:
    with world.uow_factory() as uow:
        patient = uow.sessions.get(world.ids["session"]).patient_id
    assert patient is not None
    return patient


def _observation(world: World, key: str, at_offset: timedelta, systolic: int) -> Any:
    return world.request(
        Role.NURSE,
        "POST",
        "/api/observations",
        json={
            "idempotency_key": key,
            "patient_id": _patient(world),
            "observed_at": (NOW + at_offset).isoformat(),
            "observations": [
                {"system": "MDC", "code": "150021", "value": systolic, "unit": "mm[Hg]"},
                {"system": "MDC", "code": "150022", "value": 50, "unit": "mm[Hg]"},
            ],
        },
    )


def test_a_reading_older_than_the_last_nurse_entry_is_charted_and_alerts_the_board(
    stored_world: World,
) -> None:
    """The nurse's line note at 10:45:03 is recorded first; the monitor's 10:45:00 reading
    (systolic 80 mmHg) arrives at 10:45:04. It is charted at 10:45:00, before the note, and its
    alert is on the board."""
    world = stored_world
    world.clock.now = NOW + timedelta(seconds=3)
    noted = _command(
        world,
        {"command": "RecordLineEvent", "at": world.clock.now.isoformat(), "kind": "other"},
    )
    assert noted.status_code == 200, noted.text
    world.clock.now = NOW + timedelta(seconds=4)
    answer = _observation(world, "late-1", timedelta(0), systolic=80)
    assert answer.status_code == 201, answer.text
    assert answer.json()["outcome"] == "accepted"
    view = world.request(Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}").json()
    lines = view["view"]["timeline"]
    vitals = next(i for i, line in enumerate(lines) if "Vitals BP 80/50" in line)
    note = next(i for i, line in enumerate(lines) if "Line event other" in line)
    assert vitals < note  # clinical order: the reading happened before the note
    board = world.request(Role.NURSE, "GET", "/api/board?date=2026-03-02").json()
    (row,) = [r for r in board if r["session_id"] == world.ids["session"]]
    assert row["session"]["alerts_open"] >= 1
    assert [a["parameter"] for a in row["session"]["alerts"]] == ["systolic_bp"]
    events = world.request(
        Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}/events"
    ).json()["events"]
    reading = next(e for e in events if e["type"] == "VitalsRecorded" and e["systolic_mmhg"])
    assert reading["occurred_at"] == NOW.isoformat()
    assert reading["recorded_at"] == (NOW + timedelta(seconds=4)).isoformat()
    assert reading["late"] is False


def test_an_api_command_dated_2199_is_refused_and_real_time_entries_go_on(
    stored_world: World,
) -> None:
    world = stored_world
    before = world.service.get_version(world.ids["session"])
    future = _command(
        world,
        {"command": "PauseInfusion", "at": "2199-01-01T00:00:00+00:00", "reason": "test"},
    )
    assert future.status_code == 422
    assert future.json()["rule"] == "clock-future"
    assert world.service.get_version(world.ids["session"]) == before
    for body in (
        {"command": "RecordVitals", "at": NOW.isoformat(), "heart_rate_bpm": 88},
        {"command": "StopInfusion", "at": NOW.isoformat(), "reason": "patient request"},
    ):
        assert _command(world, body).status_code == 200
    events = world.request(
        Role.NURSE, "GET", f"/api/sessions/{world.ids['session']}/events"
    ).json()["events"]
    assert events[-1]["type"] == "InfusionStopped"
    assert all(e["recorded_at"] <= NOW.isoformat() for e in events)


def test_a_monitor_an_hour_fast_is_answered_ae_quarantined_and_blocks_nothing(
    stored_world: World,
) -> None:
    world = stored_world
    monitor = Monitor(bed="Chair 1", patient_id=_patient(world), serial="0000000000000001")
    fast = pcd01_message(monitor, NORMAL, control_id="FAST1", at=NOW + timedelta(hours=1))
    on_time = pcd01_message(monitor, NORMAL, control_id="ONTIME1", at=NOW)
    before = world.service.get_version(world.ids["session"])
    with BackgroundMllpServer(world.centre.monitoring, clock=world.clock) as server:
        first, second = send_frames_sync("127.0.0.1", server.port, [fast, on_time])
    assert "MSA|AE|FAST1" in first
    assert "MSA|AA|ONTIME1" in second
    with world.uow_factory() as uow:
        held = [(q.reason_code, q.message_key) for q in uow.quarantine.list()]
    assert held == [("refused:clock-future", "hl7:MON/0000000000000001:FAST1")]
    assert world.service.get_version(world.ids["session"]) == before + 1
    skew = world.request(Role.ADMIN, "GET", "/api/devices/clock-skew").json()
    (sender,) = skew.values()
    assert sender["readings"] == 2
    assert sender["ahead"] == 1
    assert sender["max_ahead_s"] == 3600

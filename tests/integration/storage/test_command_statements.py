"""One ``RecordVitals`` over ``POST /api/sessions/{id}/commands`` sends these statements, in
this order, in one transaction (issue 22, ADR 0002) — on SQLite, once the bearer token is
cached. The patient is read once (it was read twice: for the allergy check and for the
reply), and the audit entry comes last, so PostgreSQL's audit chain lock (``chain.py``) is
held from its tail read to the commit only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, World, build_world

ONE_COMMAND = [
    "BEGIN IMMEDIATE",
    "SELECT session_events.payload FROM session_events",  # the tail after the cached version
    "SELECT session_events.row_hash FROM session_events",  # the hash it chains to
    "INSERT INTO session_events",
    "UPDATE session_summaries",  # the board projection
    "SELECT patients.",  # allergy check and the reply's patient
    "SELECT appointments.",  # the ordered premedications
    "SELECT therapy_orders.",
    "SELECT audit_log.sequence, audit_log.row_hash FROM audit_log",  # the chain's tail
    "INSERT INTO audit_log",
]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[World, Engine]]:
    engine = create_engine_for(sqlite_url(tmp_path / "command.db"))
    upgrade(engine)
    try:
        yield build_world(sql_unit_of_work_factory(engine)), engine
    finally:
        engine.dispose()


def record_vitals(world: World, version: int, heart_rate_bpm: int) -> int:
    command = {"command": "RecordVitals", "at": NOW.isoformat(), "heart_rate_bpm": heart_rate_bpm}
    body = {"expected_version": version, "command": command}
    path = f"/api/sessions/{world.ids['session']}/commands"
    response = world.request(Role.NURSE, "POST", path, json=body)
    assert response.status_code == 200, response.text
    return int(response.json()["version"])


def test_one_command_is_one_transaction_of_these_statements(world: tuple[World, Engine]) -> None:
    world_, engine = world
    version = world_.request(Role.NURSE, "GET", f"/api/sessions/{world_.ids['session']}").json()[
        "version"
    ]
    version = record_vitals(world_, version, 71)  # warm: token cached, stream remembered
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(" ".join(str(args[2]).split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        after = record_vitals(world_, version, 72)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert after == version + 1
    assert len(statements) == len(ONE_COMMAND), statements
    for statement, expected in zip(statements, ONE_COMMAND, strict=True):
        assert statement.startswith(expected), (statement, expected)

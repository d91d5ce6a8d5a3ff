"""One ``RecordVitals`` over ``POST /api/sessions/{id}/commands`` sends these statements, in
this order, in one transaction (issue 22, ADR 0002) — on SQLite, once the bearer token is
cached. The patient is read once (it was read twice: for the allergy check and for the
reply), and the audit entry comes last, so PostgreSQL's audit chain lock (``chain.py``) is
held from its tail read to the commit only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, World

ONE_COMMAND = [
    "BEGIN IMMEDIATE",
    # the tail after the cached version, with the hash the append chains to (no second read)
    "SELECT session_events.payload, session_events.version, session_events.row_hash FROM",
    "INSERT INTO session_events",
    "UPDATE session_summaries",  # the board projection
    "SELECT patients.",  # allergy check and the reply's patient
    "SELECT appointments.",  # the ordered premedications
    "SELECT therapy_orders.",
    "SELECT audit_log.sequence, audit_log.row_hash FROM audit_log",  # the chain's tail
    "INSERT INTO audit_log",
]


def record_vitals(world: World, version: int, heart_rate_bpm: int) -> int:
    command = {"command": "RecordVitals", "at": NOW.isoformat(), "heart_rate_bpm": heart_rate_bpm}
    body = {"expected_version": version, "command": command}
    path = f"/api/sessions/{world.ids['session']}/commands"
    response = world.request(Role.NURSE, "POST", path, json=body)
    assert response.status_code == 200, response.text
    return int(response.json()["version"])


def test_one_command_is_one_transaction_of_these_statements(
    sqlite_world: tuple[World, Engine],
) -> None:
    world_, engine = sqlite_world
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

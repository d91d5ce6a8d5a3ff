"""Tamper evidence (issue 20): ``msinfusion audit verify`` on SQLite and PostgreSQL holds on an
untouched database, and names the first broken row after a row is edited, deleted or forged
with SQL (the append-only triggers are dropped first, as an intruder with database rights
would). Migration 0005 chains the rows a 0004 database already holds."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.audit import AuditedAccess, Subject, system_actor
from msinfusion.entrypoints.cli import app
from tests.pg_cluster import Cluster

runner = CliRunner()
_names = itertools.count(1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "chain.db")
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database(f"chain_{next(_names)}")


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = create_engine_for(url)
    yield engine
    engine.dispose()


def _fill(engine: Engine) -> None:
    factory = sql_unit_of_work_factory(engine)
    access = AuditedAccess(factory)
    for i in range(5):
        access.note(system_actor(T0), Subject(verb="patient.read", resource_type="patient"), "ok")
        del i
    for stream in ("s-1", "s-2"):
        with factory() as uow:
            events = [{"type": "Noted", "version": 1, "n": n, "x": 2.0} for n in range(3)]
            uow.events.append(stream, events, expected_version=0)
            uow.events.append(stream, [{"type": "Noted", "version": 1, "n": 9}], expected_version=3)
            uow.commit()


def _drop_triggers(engine: Engine, table: str) -> None:
    on = f" ON {table}" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as connection:
        for action in ("update", "delete"):
            connection.execute(text(f"DROP TRIGGER {table}_no_{action}{on}"))


def _verify(url: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--database", url])
    return result.exit_code, result.output


def test_untouched_chains_hold(url: str, engine: Engine) -> None:
    upgrade(engine)
    _fill(engine)
    code, output = _verify(url)
    assert code == 0, output
    assert "ok: 5 audit rows and 8 session events in 2 sessions" in output


def test_an_edited_audit_row_is_named(url: str, engine: Engine) -> None:
    upgrade(engine)
    _fill(engine)
    _drop_triggers(engine, "audit_log")
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET outcome = 'denied' WHERE sequence = 3"))
    code, output = _verify(url)
    assert code == 1
    assert "audit_log sequence 3: the row's contents do not match its hash" in output


def test_a_deleted_audit_row_is_named(url: str, engine: Engine) -> None:
    upgrade(engine)
    _fill(engine)
    _drop_triggers(engine, "audit_log")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE sequence = 2"))
    code, output = _verify(url)
    assert code == 1
    assert "audit_log sequence 3: previous_hash does not match" in output


def test_an_edited_event_is_named(url: str, engine: Engine) -> None:
    upgrade(engine)
    _fill(engine)
    _drop_triggers(engine, "session_events")
    forged = '\'{"type": "Noted", "version": 1, "n": 99}\''
    with engine.begin() as connection:
        connection.execute(
            text(
                f"UPDATE session_events SET payload = {forged} "
                "WHERE stream_id = 's-2' AND version = 2"
            )
        )
    code, output = _verify(url)
    assert code == 1
    assert "(s-2 version 2): the event's contents do not match its hash" in output


def test_a_deleted_event_is_named(url: str, engine: Engine) -> None:
    upgrade(engine)
    _fill(engine)
    _drop_triggers(engine, "session_events")
    with engine.begin() as connection:
        connection.execute(
            text("DELETE FROM session_events WHERE stream_id = 's-1' AND version = 2")
        )
    code, output = _verify(url)
    assert code == 1
    assert "(s-1 version 3): version 2 is missing" in output


def test_0005_chains_the_rows_of_a_0004_database(url: str, engine: Engine) -> None:
    upgrade(engine, "0004")
    with engine.begin() as connection:
        for n in range(3):
            connection.execute(
                text(
                    "INSERT INTO audit_log (at, action, resource_type, outcome) "
                    f"VALUES ('2025-03-03 09:00:0{n}', 'read', 'patient', 'ok')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO session_events "
                    "(stream_id, version, type, schema_version, payload, recorded_at) VALUES "
                    f"('s-9', {n + 1}, 'Noted', 1, '{{\"n\": {n}}}', '2025-03-03 09:00:00')"
                )
            )
    assert upgrade(engine) == "0017"
    code, output = _verify(url)
    assert code == 0, output
    assert "ok: 3 audit rows and 3 session events" in output
    # The triggers are back after the backfill.
    with engine.begin() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text("UPDATE audit_log SET outcome = 'x'"))
    _fill(engine)  # new rows link to the backfilled ones
    assert _verify(url)[0] == 0

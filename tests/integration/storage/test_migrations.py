"""The shipped Alembic migrations on empty SQLite and PostgreSQL databases: the tables they
create are exactly ``tables.metadata``; SQLite connections carry the durability pragmas; the
audit log and the event store refuse UPDATE and DELETE in the database itself (the clinical
entries of 0003 too: tests/contract/test_clinical_entries.py); 0003 and 0004 each upgrade a
database of the revision before with rows in it and downgrade back to it."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from msinfusion.adapters.storage import (
    create_engine_for,
    current_revision,
    head_revision,
    upgrade,
)
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.storage.migrate import MIGRATIONS
from msinfusion.adapters.storage.tables import metadata
from tests.pg_cluster import Cluster

EXPECTED_TABLES = {
    "alembic_version",
    "api_tokens",
    "appointments",
    "audit_log",
    "browser_sessions",
    "chairs",
    "clinical_entries",
    "device_messages",
    "dose_preparations",
    "patients",
    "pump_associations",
    "pump_orders",
    "quarantined_messages",
    "session_events",
    "session_snapshots",
    "session_summaries",
    "therapy_orders",
    "users",
    "worklist_actions",
}
_names = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_engine_for(sqlite_url(tmp_path / "fresh.db"))
    else:
        cluster: Cluster = request.getfixturevalue("postgres_cluster")
        engine = create_engine_for(cluster.create_database(f"migrate_{next(_names)}"))
    yield engine
    engine.dispose()


def test_upgrade_on_an_empty_database_creates_exactly_the_tables(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    assert upgrade(empty_engine) == head_revision() == "0017"
    assert set(inspect(empty_engine).get_table_names()) == EXPECTED_TABLES
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_upgrade_twice_is_a_no_op(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("INSERT INTO chairs VALUES ('c-1', 'Chair', '[]', true)"))
    assert upgrade(empty_engine) == "0017"
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM chairs")).scalar_one() == 1


def test_the_event_store_has_a_unique_stream_version_key(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    unique = inspect(empty_engine).get_unique_constraints("session_events")
    assert [u["column_names"] for u in unique] == [["stream_id", "version"]]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET outcome = 'changed'",
        "DELETE FROM audit_log",
        "UPDATE session_events SET type = 'Changed'",
        "DELETE FROM session_events",
    ],
)
def test_append_only_tables_refuse_update_and_delete(empty_engine: Engine, statement: str) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_log (at, action, resource_type, outcome) "
                "VALUES ('2025-03-03 09:00:00', 'read', 'patient', 'ok')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO session_events "
                "(stream_id, version, type, schema_version, payload, recorded_at) "
                "VALUES ('s-1', 1, 'SessionCheckedIn', 1, '{}', '2025-03-03 09:00:00')"
            )
        )
    with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as connection:
        connection.execute(text(statement))
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1
        assert connection.execute(text("SELECT count(*) FROM session_events")).scalar_one() == 1


def _downgrade(engine: Engine, revision: str) -> None:
    """What ``alembic downgrade`` does (the shipped code only upgrades; see ``migrate.py``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)

    def steps(current: Any, _context: MigrationContext) -> Iterable[Any]:
        return scripts._downgrade_revs(revision, current)

    with (
        engine.begin() as connection,
        EnvironmentContext(config, scripts, fn=steps, destination_rev=revision) as environment,
    ):
        environment.configure(connection=connection, target_metadata=metadata)
        with environment.begin_transaction():
            environment.run_migrations()


def test_0003_upgrades_a_0002_database_and_downgrades_back(empty_engine: Engine) -> None:
    assert upgrade(empty_engine, "0002") == "0002"
    assert "clinical_entries" not in inspect(empty_engine).get_table_names()
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO patients (id, display_name, synthetic, contraindicated_therapy_ids) "
                "VALUES ('p-1', 'Synthetic', true, '[]')"
            )
        )
    assert upgrade(empty_engine, "0003") == "0003"
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO clinical_entries VALUES "
                "('e-1', 'p-1', 'lab', '2026-03-06', '{}', '2026-03-09 09:00:00', 'u-1')"
            )
        )
    indexes = inspect(empty_engine).get_indexes("clinical_entries")
    assert [i["column_names"] for i in indexes] == [["patient_id", "recorded_at", "id"]]
    _downgrade(empty_engine, "0002")
    assert current_revision(empty_engine) == "0002"
    assert "clinical_entries" not in inspect(empty_engine).get_table_names()
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM patients")).scalar_one() == 1
    with empty_engine.begin() as connection:  # 0001's triggers (and PostgreSQL function) stay
        connection.execute(
            text(
                "INSERT INTO audit_log (at, action, resource_type, outcome) "
                "VALUES ('2025-03-03 09:00:00', 'read', 'patient', 'ok')"
            )
        )
    with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log"))
    assert upgrade(empty_engine) == "0017"


def _index_columns(engine: Engine, table: str) -> dict[str | None, list[str | None]]:
    return {i["name"]: i["column_names"] for i in inspect(engine).get_indexes(table)}


def test_0004_indexes_a_0003_database_with_rows_and_downgrades_back(empty_engine: Engine) -> None:
    assert upgrade(empty_engine, "0003") == "0003"
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO patients (id, display_name, synthetic, contraindicated_therapy_ids) "
                "VALUES ('p-1', 'Synthetic', true, '[]')"
            )
        )
        connection.execute(text("INSERT INTO chairs VALUES ('c-1', 'Chair', '[]', true)"))
        connection.execute(
            text(
                "INSERT INTO appointments (id, patient_id, chair_id, protocol_id, dose_number, "
                "starts_at, ends_at, status, session_id) VALUES ('a-1', 'p-1', 'c-1', "
                "'ocrelizumab-600-standard', 1, '2026-03-09 09:00:00', '2026-03-09 14:00:00', "
                "'booked', 's-1')"
            )
        )
    before = _index_columns(empty_engine, "appointments")
    assert before["ix_appointments_patient_id"] == ["patient_id"]
    assert upgrade(empty_engine) == "0017"
    appointments = _index_columns(empty_engine, "appointments")
    assert appointments == {
        "ix_appointments_patient_id_starts_at_id": ["patient_id", "starts_at", "id"],
        "ix_appointments_session_id": ["session_id"],
        "ix_appointments_starts_at": ["starts_at"],
    }
    summaries = _index_columns(empty_engine, "session_summaries")
    assert summaries["ix_session_summaries_patient_id"] == ["patient_id"]
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM appointments")).scalar_one() == 1
    _downgrade(empty_engine, "0003")
    assert current_revision(empty_engine) == "0003"
    assert _index_columns(empty_engine, "appointments") == before
    assert "ix_session_summaries_patient_id" not in _index_columns(
        empty_engine, "session_summaries"
    )
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM appointments")).scalar_one() == 1
    assert upgrade(empty_engine) == "0017"


def test_every_sqlite_connection_is_durable_and_checks_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_for(sqlite_url(tmp_path / "pragmas.db"))
    for _ in range(2):  # a second pooled connection too
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
            assert pragma == {
                "journal_mode": "wal",
                "synchronous": 2,  # FULL
                "foreign_keys": 1,
                "busy_timeout": 30_000,
            }
    engine.dispose()


def test_the_default_database_is_a_file_in_the_user_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msinfusion.adapters.storage import database_url

    monkeypatch.delenv("MSINFUSION_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = database_url()
    assert url == sqlite_url(tmp_path / "data" / "msinfusion" / "msinfusion.db")
    engine = create_engine_for()
    upgrade(engine)
    engine.dispose()
    assert (tmp_path / "data" / "msinfusion" / "msinfusion.db").is_file()
    monkeypatch.setenv("MSINFUSION_DATABASE_URL", "postgresql+psycopg://u@db.example/centre")
    assert database_url() == "postgresql+psycopg://u@db.example/centre"
    assert database_url("sqlite:///elsewhere.db") == "sqlite:///elsewhere.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("MSINFUSION_DATABASE_URL")
    assert database_url().endswith("/.local/share/msinfusion/msinfusion.db")


def test_0006_gives_every_stored_patient_empty_identifiers_and_downgrades_back(
    empty_engine: Engine,
) -> None:
    assert upgrade(empty_engine, "0005") == "0005"
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO patients (id, display_name, synthetic, contraindicated_therapy_ids) "
                "VALUES ('p-1', 'Synthetic Patient', true, '[]')"
            )
        )
        connection.execute(text("INSERT INTO chairs VALUES ('c-1', 'Chair', '[]', true)"))
        connection.execute(
            text(
                "INSERT INTO appointments (id, patient_id, chair_id, protocol_id, dose_number, "
                "starts_at, ends_at, status) VALUES ('a-1', 'p-1', 'c-1', "
                "'natalizumab-300', 1, '2026-03-02 09:00:00', '2026-03-02 11:00:00', 'booked')"
            )
        )
    assert upgrade(empty_engine) == "0017"
    with empty_engine.connect() as connection:
        row = connection.execute(text("SELECT identifiers, allergies FROM patients")).one()
    assert [list(value) if not isinstance(value, str) else value for value in row] in (
        [[], []],
        ["[]", "[]"],
    )
    _downgrade(empty_engine, "0005")
    columns = {c["name"] for c in inspect(empty_engine).get_columns("patients")}
    assert {"identifiers", "allergies"}.isdisjoint(columns)
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM appointments")).scalar_one() == 1


def test_0007_makes_every_stored_order_signed_and_downgrades_back(empty_engine: Engine) -> None:
    assert upgrade(empty_engine, "0006") == "0006"
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO patients (id, display_name, synthetic, contraindicated_therapy_ids, "
                "identifiers, allergies) VALUES ('p-1', 'Synthetic Patient', true, '[]', '[]', "
                "'[]')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO therapy_orders (id, patient_id, therapy_id, start_date, "
                "prescriber_id, options, active) VALUES ('o-1', 'p-1', 'ocrelizumab', "
                "'2026-03-02', 'u-1', '[]', true)"
            )
        )
    assert upgrade(empty_engine) == "0017"
    with empty_engine.connect() as connection:
        row = connection.execute(
            text("SELECT status, status_reason, signed_at, signed_by FROM therapy_orders")
        ).one()
    assert tuple(row) == ("signed", None, None, None)
    _downgrade(empty_engine, "0006")
    columns = {c["name"] for c in inspect(empty_engine).get_columns("therapy_orders")}
    assert {"status", "status_reason", "signed_at", "signed_by"}.isdisjoint(columns)
    assert "status_reason" not in {
        c["name"] for c in inspect(empty_engine).get_columns("appointments")
    }
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM therapy_orders")).scalar_one() == 1


def test_0011_indexes_clinical_entries_by_kind_and_downgrades_back(empty_engine: Engine) -> None:
    assert upgrade(empty_engine, "0008") == "0008"
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO patients (id, display_name, synthetic, contraindicated_therapy_ids) "
                "VALUES ('p-1', 'Synthetic', true, '[]')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO clinical_entries VALUES ('e-1', 'p-1', 'drug-level', "
                "'2026-03-02', '{}', '2026-03-02 09:00:00', 'u-1')"
            )
        )
    assert "ix_clinical_entries_kind_recorded_at_id" not in _index_columns(
        empty_engine, "clinical_entries"
    )
    assert upgrade(empty_engine) == "0017"
    after = _index_columns(empty_engine, "clinical_entries")
    assert after["ix_clinical_entries_kind_recorded_at_id"] == ["kind", "recorded_at", "id"]
    _downgrade(empty_engine, "0008")
    assert "ix_clinical_entries_kind_recorded_at_id" not in _index_columns(
        empty_engine, "clinical_entries"
    )
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM clinical_entries")).scalar_one() == 1

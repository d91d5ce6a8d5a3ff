"""Migration 0013 on a 0008 database with rows, on SQLite and PostgreSQL: stored orders get no
premedication pick, stored patients no reminder contact, the audit trail its two search
indexes; and back."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from msinfusion.adapters.storage import upgrade
from tests.integration.storage.test_migrations import (
    _downgrade,
    empty_engine,  # noqa: F401  (a fixture)
)

INDEXES = {"ix_audit_log_resource_id_sequence", "ix_audit_log_action_sequence"}


def test_0013_upgrades_a_0008_database_with_rows_and_downgrades_back(
    empty_engine: Engine,  # noqa: F811  (the fixture)
) -> None:
    assert upgrade(empty_engine, "0008") == "0008"
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
    assert upgrade(empty_engine, "0013") == "0013"
    with empty_engine.connect() as connection:
        premedications = connection.execute(
            text("SELECT premedications FROM therapy_orders")
        ).scalar_one()
        contact = connection.execute(text("SELECT reminder_contact FROM patients")).scalar_one()
    assert premedications in ("[]", [])
    assert contact is None
    assert INDEXES.issubset({i["name"] for i in inspect(empty_engine).get_indexes("audit_log")})
    _downgrade(empty_engine, "0008")
    assert "premedications" not in {
        c["name"] for c in inspect(empty_engine).get_columns("therapy_orders")
    }
    assert "reminder_contact" not in {
        c["name"] for c in inspect(empty_engine).get_columns("patients")
    }
    assert INDEXES.isdisjoint({i["name"] for i in inspect(empty_engine).get_indexes("audit_log")})
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM therapy_orders")).scalar_one() == 1

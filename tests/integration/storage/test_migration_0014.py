"""Migration 0014 on a 0013 database with a queued pump order, on SQLite and PostgreSQL: the
order gets a free lease (no claimant), the outbox its two composite indexes instead of the
single-column ones of 0009; and back, the order kept."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from msinfusion.adapters.storage import upgrade
from msinfusion.adapters.storage.migrate import head_revision
from tests.integration.storage.test_migrations import (
    _downgrade,
    empty_engine,  # noqa: F401  (a fixture)
)

NEW = {"ix_pump_orders_status_requested_at", "ix_pump_orders_session_id_event_sequence"}
OLD = {"ix_pump_orders_status", "ix_pump_orders_session_id"}
LEASE = {"claimed_by", "claimed_until"}


def _indexes(engine: Engine) -> set[str]:
    return {str(i["name"]) for i in inspect(engine).get_indexes("pump_orders")}


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("pump_orders")}


def test_0014_upgrades_a_0013_outbox_with_an_order_and_downgrades_back(
    empty_engine: Engine,  # noqa: F811  (the fixture)
) -> None:
    assert upgrade(empty_engine, "0013") == "0013"
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO pump_orders (id, session_id, event_sequence, pump_id, "
                "order_control, rate_ml_per_h, volume_to_be_infused_ml, requested_at, "
                "requested_by, message, status, attempts) VALUES ('s-1-5', 's-1', 5, 'P-1', "
                "'RE', '40', '500', '2026-03-02 10:00:00+00:00', 'nurse1', 'MSH|', 'queued', 0)"
            )
        )
    reached = upgrade(empty_engine)
    assert reached == head_revision()
    assert reached is not None
    assert reached >= "0014"
    assert _columns(empty_engine) >= LEASE
    assert _indexes(empty_engine) >= NEW
    assert OLD.isdisjoint(_indexes(empty_engine))
    with empty_engine.connect() as connection:
        row = connection.execute(
            text("SELECT status, claimed_by, claimed_until FROM pump_orders")
        ).one()
    assert tuple(row) == ("queued", None, None)
    _downgrade(empty_engine, "0013")
    assert LEASE.isdisjoint(_columns(empty_engine))
    assert _indexes(empty_engine) >= OLD
    assert NEW.isdisjoint(_indexes(empty_engine))
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM pump_orders")).scalar_one() == 1

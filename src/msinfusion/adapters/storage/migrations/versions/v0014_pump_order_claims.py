"""Pump orders: the send lease of each order, and the outbox's lookups as index reads.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

Two processes send queued PCD-03 orders (the web server and ``pumps listen``): an order is sent
only by the one that won its lease, a conditional UPDATE of ``claimed_by`` / ``claimed_until``
(docs/pumps.md). Orders stored before have no lease (free). The dispatcher's "queued orders,
oldest first" and the chairside's "orders of this session" are read from an index each; the
single-column indexes of 0009 they extend are dropped.
Frozen once shipped: names are written out, not imported from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both back ends (no table copy), as in 0013.
    op.add_column("pump_orders", sa.Column("claimed_by", sa.String(64)))
    op.add_column("pump_orders", sa.Column("claimed_until", sa.DateTime(timezone=True)))
    op.create_index("ix_pump_orders_status_requested_at", "pump_orders", ["status", "requested_at"])
    op.create_index(
        "ix_pump_orders_session_id_event_sequence",
        "pump_orders",
        ["session_id", "event_sequence"],
    )
    op.drop_index("ix_pump_orders_session_id", table_name="pump_orders")
    op.drop_index("ix_pump_orders_status", table_name="pump_orders")


def downgrade() -> None:
    op.create_index("ix_pump_orders_status", "pump_orders", ["status"])
    op.create_index("ix_pump_orders_session_id", "pump_orders", ["session_id"])
    op.drop_index("ix_pump_orders_session_id_event_sequence", table_name="pump_orders")
    op.drop_index("ix_pump_orders_status_requested_at", table_name="pump_orders")
    op.execute("ALTER TABLE pump_orders DROP COLUMN claimed_until")
    op.execute("ALTER TABLE pump_orders DROP COLUMN claimed_by")

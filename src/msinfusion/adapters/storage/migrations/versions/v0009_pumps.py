"""Smart pumps: which pump serves which chair, and the PCD-03 order outbox.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

New tables only: nothing stored before changes. Frozen once shipped: types are written out,
not imported from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
WHEN = sa.DateTime(timezone=True)
FRACTION = sa.String(80)


def upgrade() -> None:
    op.create_table(
        "pump_associations",
        sa.Column("id", ID),
        sa.Column("chair_id", ID, nullable=False),
        sa.Column("associated_at", WHEN, nullable=False),
        sa.Column("associated_by", ID, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("ended_at", WHEN),
        sa.PrimaryKeyConstraint("id", name="pk_pump_associations"),
        sa.ForeignKeyConstraint(
            ["chair_id"], ["chairs.id"], name="fk_pump_associations_chair_id_chairs"
        ),
    )
    op.create_index("ix_pump_associations_chair_id", "pump_associations", ["chair_id"])
    op.create_table(
        "pump_orders",
        sa.Column("id", ID),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("event_sequence", sa.Integer(), nullable=False),
        sa.Column("pump_id", ID, nullable=False),
        sa.Column("order_control", sa.String(4), nullable=False),
        sa.Column("rate_ml_per_h", FRACTION, nullable=False),
        sa.Column("volume_to_be_infused_ml", FRACTION, nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("requested_by", ID, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", WHEN),
        sa.Column("answered_at", WHEN),
        sa.PrimaryKeyConstraint("id", name="pk_pump_orders"),
    )
    op.create_index("ix_pump_orders_session_id", "pump_orders", ["session_id"])
    op.create_index("ix_pump_orders_status", "pump_orders", ["status"])


def downgrade() -> None:
    op.drop_table("pump_orders")
    op.drop_table("pump_associations")

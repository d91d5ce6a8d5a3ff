"""Order status (draft, signed, on hold, discontinued) and an appointment's status reason.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10

Every order stored before is signed (they were booked on as such; nothing is invented about who
signed them: ``signed_at`` and ``signed_by`` stay empty). Frozen once shipped: names are written
out, not imported from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both back ends (no table copy), as in 0006.
    op.add_column(
        "therapy_orders",
        sa.Column("status", sa.String(32), nullable=False, server_default="signed"),
    )
    op.add_column("therapy_orders", sa.Column("status_reason", sa.Text()))
    op.add_column("therapy_orders", sa.Column("signed_at", sa.DateTime(timezone=True)))
    op.add_column("therapy_orders", sa.Column("signed_by", sa.String(64)))
    op.add_column("appointments", sa.Column("status_reason", sa.Text()))


def downgrade() -> None:
    for table, column in (
        ("appointments", "status_reason"),
        ("therapy_orders", "signed_by"),
        ("therapy_orders", "signed_at"),
        ("therapy_orders", "status_reason"),
        ("therapy_orders", "status"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")

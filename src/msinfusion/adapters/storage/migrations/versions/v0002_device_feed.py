"""The device feed: accepted device messages (idempotency) and the quarantine.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-02

Frozen once shipped, like 0001: types are written out, not imported from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "device_messages",
        sa.Column("id", sa.String(255)),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("received_at", _tz(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device_messages"),
    )
    op.create_index("ix_device_messages_session_id", "device_messages", ["session_id"])
    op.create_table(
        "quarantined_messages",
        sa.Column("id", ID),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("received_at", _tz(), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("sender", sa.String(200)),
        sa.Column("message_key", sa.String(255)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("replayed_at", _tz()),
        sa.Column("replayed_by", ID),
        sa.Column("session_id", ID),
        sa.PrimaryKeyConstraint("id", name="pk_quarantined_messages"),
    )
    op.create_index("ix_quarantined_messages_received_at", "quarantined_messages", ["received_at"])
    op.create_index("ix_quarantined_messages_status", "quarantined_messages", ["status"])


def downgrade() -> None:
    op.drop_table("quarantined_messages")
    op.drop_table("device_messages")

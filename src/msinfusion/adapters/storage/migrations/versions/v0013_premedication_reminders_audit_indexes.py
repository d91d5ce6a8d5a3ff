"""An order's premedication choices, a patient's reminder contact, and audit-search indexes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

Orders stored before carry no premedication choice (the protocol's own first choice applies at
the chair, as before); patients none stored reminder contact. The audit viewer filters in SQL
by resource id (a patient's records) and by action, newest first: one index each, with the
sequence, so the newest matching page is read from the index. Frozen once shipped: names are
written out, not imported from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both back ends (no table copy), as in 0006 and 0007.
    op.add_column(
        "therapy_orders",
        sa.Column("premedications", sa.JSON(), nullable=False, server_default="[]"),
    )
    op.add_column("patients", sa.Column("reminder_contact", sa.String(254)))
    op.create_index("ix_audit_log_resource_id_sequence", "audit_log", ["resource_id", "sequence"])
    op.create_index("ix_audit_log_action_sequence", "audit_log", ["action", "sequence"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_sequence", table_name="audit_log")
    op.drop_index("ix_audit_log_resource_id_sequence", table_name="audit_log")
    op.execute("ALTER TABLE patients DROP COLUMN reminder_contact")
    op.execute("ALTER TABLE therapy_orders DROP COLUMN premedications")

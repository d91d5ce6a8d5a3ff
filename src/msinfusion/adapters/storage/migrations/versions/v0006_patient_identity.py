"""A patient's identifiers (system and value, e.g. the hospital MRN) and allergies.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Both are JSON lists on the patient row, empty for every patient stored before (nothing is
invented for them). Frozen once shipped: names are written out, not imported from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both back ends: no table copy, so the rows that reference patients
    # (appointments, orders, sessions) are never in the way of a foreign key.
    op.add_column(
        "patients", sa.Column("identifiers", sa.JSON(), nullable=False, server_default="[]")
    )
    op.add_column(
        "patients", sa.Column("allergies", sa.JSON(), nullable=False, server_default="[]")
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later, PostgreSQL), again without a copy.
    op.execute("ALTER TABLE patients DROP COLUMN allergies")
    op.execute("ALTER TABLE patients DROP COLUMN identifiers")

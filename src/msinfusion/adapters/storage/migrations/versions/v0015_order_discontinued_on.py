"""Therapy orders: the day treatment stopped.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

``POST /api/orders/{id}/discontinue`` records the clinic day a course stopped; the programmes'
follow-up counts from it (TOUCH-07: a discontinuation questionnaire at the stop and 6 months
after; docs/clinical/worklist-and-ledger.md). Orders stored before have none (NULL): their
follow-up counts from the last dose given, as before.
Frozen once shipped: names are written out, not imported from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both back ends (no table copy), as in 0013 and 0014.
    op.add_column("therapy_orders", sa.Column("discontinued_on", sa.Date()))


def downgrade() -> None:
    op.execute("ALTER TABLE therapy_orders DROP COLUMN discontinued_on")

"""The pharmacy's dose verifications and bag preparations (one row per decision on a dose).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

A new table only: nothing stored before changes, and a centre without pharmacy verification
keeps starting infusions as before (the bag check applies to doses with a row here,
``application/bag_check.py``). Frozen once shipped: types are written out, not imported from
``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
TABLE = "dose_preparations"
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", ID),
        sa.Column("appointment_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("protocol_id", ID, nullable=False),
        sa.Column("protocol_version", sa.String(32), nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=False),
        sa.Column("order_id", ID),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("verified_by", ID),
        sa.Column("verified_at", WHEN),
        sa.Column("returned_by", ID),
        sa.Column("returned_at", WHEN),
        sa.Column("return_reason", sa.Text()),
        sa.Column("product", sa.String(200)),
        sa.Column("lot", sa.String(64)),
        sa.Column("expiry", sa.Date()),
        sa.Column("prepared_volume_ml", sa.String(40)),
        sa.Column("diluent", sa.String(200)),
        sa.Column("prepared_at", WHEN),
        sa.Column("prepared_by", ID),
        sa.Column("checked_by", ID),
        sa.Column("checked_at", WHEN),
        sa.PrimaryKeyConstraint("id", name="pk_dose_preparations"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_dose_preparations_appointment_id_appointments",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_dose_preparations_patient_id_patients"
        ),
    )
    op.create_index("ix_dose_preparations_appointment_id", TABLE, ["appointment_id"])


def downgrade() -> None:
    op.drop_index("ix_dose_preparations_appointment_id", table_name=TABLE)
    op.drop_table(TABLE)

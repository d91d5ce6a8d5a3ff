"""The patient's clinical record: append-only clinical entries (labs, vaccinations, findings…).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Frozen once shipped, like 0001: types are written out, not imported from ``tables.py``. UPDATE
and DELETE are refused by trigger as 0001 does for the audit log and the event store; on
PostgreSQL the triggers call 0001's ``msinfusion_refuse_change()``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
TABLE = "clinical_entries"


def _append_only() -> None:
    dialect = op.get_bind().dialect.name
    for action in ("UPDATE", "DELETE"):
        name = f"{TABLE}_no_{action.lower()}"
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON {TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION msinfusion_refuse_change()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END"
            )


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", ID),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clinical_entries"),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_clinical_entries_patient_id_patients"
        ),
    )
    op.create_index(
        "ix_clinical_entries_patient_id_recorded_at_id",
        TABLE,
        ["patient_id", "recorded_at", "id"],
    )
    _append_only()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for action in ("update", "delete"):
        suffix = f" ON {TABLE}" if dialect == "postgresql" else ""
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{action}{suffix}")
    op.drop_table(TABLE)

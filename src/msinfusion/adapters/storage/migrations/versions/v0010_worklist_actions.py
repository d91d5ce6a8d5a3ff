"""Worklist decisions: assignments and documented resolutions of worklist items.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

A new table only: worklist items are computed from the stored record, never stored; this
keeps who assigned or closed which item, when and why. Append-only like ``clinical_entries``
(UPDATE and DELETE refused by trigger; on PostgreSQL through 0001's
``msinfusion_refuse_change()``). Frozen once shipped: types are written out, not imported
from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
TABLE = "worklist_actions"


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
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("assignee", ID),
        sa.Column("reason", sa.Text()),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_worklist_actions"),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_worklist_actions_patient_id_patients"
        ),
    )
    op.create_index(
        "ix_worklist_actions_patient_id_recorded_at", TABLE, ["patient_id", "recorded_at"]
    )
    _append_only()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for action in ("update", "delete"):
        suffix = f" ON {TABLE}" if dialect == "postgresql" else ""
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{action}{suffix}")
    op.drop_index("ix_worklist_actions_patient_id_recorded_at", table_name=TABLE)
    op.drop_table(TABLE)

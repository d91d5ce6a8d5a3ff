"""An index for reading clinical entries of one kind across the centre.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

The running accuracy of model-informed natalizumab dosing averages the prediction
error of every scored trough (entries of kind ``drug-level``) and needs the retractions that
cancel some of them: ``ClinicalEntryRepository.list_of_kind``, served by this index instead of a
scan of every patient's record.

Frozen once shipped: names are written out, not imported from ``tables.py``.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_clinical_entries_kind_recorded_at_id", "clinical_entries", ["kind", "recorded_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_clinical_entries_kind_recorded_at_id", table_name="clinical_entries")

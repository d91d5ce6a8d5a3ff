"""Indexes for the per-patient and per-session reads of the service layer.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A patient's appointments in date order, a session's appointment and a patient's sessions were
full-table scans filtered in Python; these indexes serve the repository queries that replace
them (``list_for_patient``, ``find_by_session``). The appointments' single-column patient index
of 0001 becomes the leading column of a ``(patient_id, starts_at, id)`` index, which also
serves the foreign key. Orders already have ``ix_therapy_orders_patient_id`` (0001).

Frozen once shipped, like 0001: names are written out, not imported from ``tables.py``.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_appointments_patient_id_starts_at_id",
        "appointments",
        ["patient_id", "starts_at", "id"],
    )
    op.drop_index("ix_appointments_patient_id", table_name="appointments")
    op.create_index("ix_appointments_session_id", "appointments", ["session_id"])
    op.create_index("ix_session_summaries_patient_id", "session_summaries", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_session_summaries_patient_id", table_name="session_summaries")
    op.drop_index("ix_appointments_session_id", table_name="appointments")
    op.create_index("ix_appointments_patient_id", "appointments", ["patient_id"])
    op.drop_index("ix_appointments_patient_id_starts_at_id", table_name="appointments")

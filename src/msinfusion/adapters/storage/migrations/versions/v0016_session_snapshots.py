"""Session snapshots: a stream's folded chart, so a view reads the snapshot and the tail.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

One row per stream (``session_snapshots``): the version it folds, the snapshot schema (layout
and fold version, ``msinfusion.session.snapshot.SNAPSHOT_SCHEMA``), the document as compact
JSON text and when it was written. Written in the transaction of the events it folds; derived
data, so it is replaced whole and not hash-chained, and a row of another schema is ignored
(the reader replays the stream). Databases upgraded from before start with no snapshots:
every stream is replayed until its next snapshot is written (docs/session-format.md).
Frozen once shipped: names are written out, not imported from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "session_snapshots",
        sa.Column("stream_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("session_snapshots")

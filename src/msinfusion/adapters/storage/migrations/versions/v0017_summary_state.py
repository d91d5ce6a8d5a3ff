"""The board projection keeps the folded state: a board row renders live state from it alone.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

``session_summaries.state`` (nullable text): the session's folded ``SessionState`` at the row's
version, as JSON tagged with the fold's schema (``SNAPSHOT_SCHEMA``), written with the summary
in the transaction of the events; ``worst_reaction`` and ``therapy_contraindicated``: the two
facts of that state a patient's reaction history needs, as plain columns. Rows written before
this revision hold NULL: the board and the history read such a session's stream, as before,
until its next command rewrites the row
(docs/session-format.md). Frozen once shipped: names are written out, not imported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("session_summaries", sa.Column("worst_reaction", sa.String(32), nullable=True))
    op.add_column(
        "session_summaries", sa.Column("therapy_contraindicated", sa.Boolean(), nullable=True)
    )
    op.add_column("session_summaries", sa.Column("state", sa.Text(), nullable=True))


def downgrade() -> None:
    for column in ("state", "therapy_contraindicated", "worst_reaction"):
        op.execute(f"ALTER TABLE session_summaries DROP COLUMN {column}")

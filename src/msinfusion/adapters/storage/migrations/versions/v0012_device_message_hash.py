"""Device messages keep the SHA-256 of their text next to their idempotency key.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Group commit lets several MLLP listeners write one PostgreSQL database: the primary key
``device_messages.id`` (``hl7:<sender>:<MSH-10>``) makes the second listener's insert of the
same message fail instead of recording it twice, and ``content_sha256`` tells a retransmission
(same hash: the stored answer again) from a reused control id (another hash: quarantined as
``conflict``) without reading the stored text. A nullable column only: messages stored before
keep NULL and are compared by their text. Frozen once shipped: types are written out, not
imported from ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

TABLE = "device_messages"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("content_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later, PostgreSQL), without a table copy.
    op.execute(f"ALTER TABLE {TABLE} DROP COLUMN content_sha256")

"""Security hardening: stored browser sessions, forced password change, hash chains.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

* ``browser_sessions``: signed-in browsers by the SHA-256 of their cookie (a restart signs
  nobody out; servers on one PostgreSQL database share them).
* ``users.must_change_password`` / ``users.password_reset_at``: an administrator's reset.
* ``audit_log`` and ``session_events`` get ``previous_hash`` and ``row_hash``; existing rows are
  chained in order (``sequence``; per stream by ``version``). The UPDATE triggers of 0001 are
  dropped for the backfill and created again, in the same transaction.

Names are written out, as in 0001. The hash itself is ``adapters/storage/chain.py``'s
``row_hash`` with its format tag ``msinfusion-chain-v1``: a later format gets a new tag and
keeps this one verifiable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from msinfusion.adapters.storage.chain import AUDIT_FIELDS, EVENT_FIELDS, GENESIS, row_hash

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)
CHAINED = ("audit_log", "session_events")


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _update_triggers(create: bool) -> None:
    dialect = op.get_bind().dialect.name
    for table in CHAINED:
        name = f"{table}_no_update"
        if not create:
            suffix = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS {name}{suffix}")
        elif dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION msinfusion_refuse_change()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _utc(value: Any) -> Any:
    """A stored time as the application reads it (SQLite returns naive UTC or text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _backfill_audit(bind: sa.Connection) -> None:
    previous = GENESIS
    rows = bind.execute(sa.text("SELECT * FROM audit_log ORDER BY sequence")).mappings().all()
    for row in rows:
        values = {**row, "at": _utc(row["at"])}
        current = row_hash(previous, AUDIT_FIELDS, values)
        bind.execute(
            sa.text("UPDATE audit_log SET previous_hash = :p, row_hash = :h WHERE sequence = :s"),
            {"p": previous, "h": current, "s": row["sequence"]},
        )
        previous = current


def _backfill_events(bind: sa.Connection) -> None:
    query = "SELECT * FROM session_events ORDER BY stream_id, version"
    stream, previous = None, GENESIS
    for row in bind.execute(sa.text(query)).mappings().all():
        if row["stream_id"] != stream:
            stream, previous = row["stream_id"], GENESIS
        payload = row["payload"]
        values = {
            **row,
            "payload": json.loads(payload) if isinstance(payload, str) else payload,
            "recorded_at": _utc(row["recorded_at"]),
        }
        current = row_hash(previous, EVENT_FIELDS, values)
        bind.execute(
            sa.text(
                "UPDATE session_events SET previous_hash = :p, row_hash = :h WHERE position = :s"
            ),
            {"p": previous, "h": current, "s": row["position"]},
        )
        previous = current


def upgrade() -> None:
    op.create_table(
        "browser_sessions",
        sa.Column("id", ID),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("last_seen_at", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_browser_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_browser_sessions_user_id_users"
        ),
    )
    op.create_index("ix_browser_sessions_user_id", "browser_sessions", ["user_id"])
    op.create_index("ix_browser_sessions_last_seen_at", "browser_sessions", ["last_seen_at"])
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("users", sa.Column("password_reset_at", _tz()))
    for table in CHAINED:
        op.add_column(table, sa.Column("previous_hash", sa.String(64)))
        op.add_column(table, sa.Column("row_hash", sa.String(64)))
    _update_triggers(create=False)
    bind = op.get_bind()
    _backfill_audit(bind)
    _backfill_events(bind)
    _update_triggers(create=True)


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy would lose the triggers.
    for table, column in (
        *((t, c) for t in CHAINED for c in ("row_hash", "previous_hash")),
        ("users", "password_reset_at"),
        ("users", "must_change_password"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_index("ix_browser_sessions_last_seen_at", table_name="browser_sessions")
    op.drop_index("ix_browser_sessions_user_id", table_name="browser_sessions")
    op.drop_table("browser_sessions")

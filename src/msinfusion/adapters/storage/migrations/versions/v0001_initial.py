"""The initial schema: records, audit log, session event store and board projection.

Revision ID: 0001
Revises:
Create Date: 2025-06-01

Frozen: later schema changes are new revisions, never edits here. Types are written out (not
imported from ``tables.py``) so this file keeps meaning what it meant when it shipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(64)


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _records() -> None:
    op.create_table(
        "patients",
        sa.Column("id", ID),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("date_of_birth", sa.Date()),
        sa.Column("sex", sa.String(16)),
        sa.Column("height_cm", sa.String(40)),
        sa.Column("weight_kg", sa.String(40)),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("contraindicated_therapy_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
    )
    op.create_table(
        "chairs",
        sa.Column("id", ID),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chairs"),
    )
    op.create_table(
        "therapy_orders",
        sa.Column("id", ID),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("therapy_id", ID, nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("prescriber_id", ID, nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_therapy_orders"),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_therapy_orders_patient_id_patients"
        ),
    )
    op.create_index("ix_therapy_orders_patient_id", "therapy_orders", ["patient_id"])
    op.create_table(
        "appointments",
        sa.Column("id", ID),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("chair_id", ID, nullable=False),
        sa.Column("protocol_id", ID, nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=False),
        sa.Column("starts_at", _tz(), nullable=False),
        sa.Column("ends_at", _tz(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("order_id", ID),
        sa.Column("session_id", ID),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_appointments_patient_id_patients"
        ),
        sa.ForeignKeyConstraint(
            ["chair_id"], ["chairs.id"], name="fk_appointments_chair_id_chairs"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["therapy_orders.id"], name="fk_appointments_order_id_therapy_orders"
        ),
    )
    op.create_index("ix_appointments_patient_id", "appointments", ["patient_id"])
    op.create_index("ix_appointments_starts_at", "appointments", ["starts_at"])


def _accounts() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("display_name", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", ID),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(255), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_tokens_user_id_users"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("sequence", sa.Integer(), autoincrement=True),
        sa.Column("at", _tz(), nullable=False),
        sa.Column("user_id", ID),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(200)),
        sa.Column("remote_addr", sa.String(64)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_user_id", "audit_log", ["user_id"])


def _sessions() -> None:
    op.create_table(
        "session_events",
        sa.Column("position", sa.Integer(), autoincrement=True),
        sa.Column("stream_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("recorded_at", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_session_events"),
        sa.UniqueConstraint("stream_id", "version", name="uq_session_events_stream_id_version"),
    )
    op.create_table(
        "session_summaries",
        sa.Column("session_id", ID),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("patient_id", ID),
        sa.Column("protocol_id", ID),
        sa.Column("protocol_version", sa.String(32)),
        sa.Column("dose_number", sa.Integer()),
        sa.Column("rate_ml_per_h", sa.String(80), nullable=False),
        sa.Column("volume_infused_ml", sa.String(80), nullable=False),
        sa.Column("bag_volume_ml", sa.String(80), nullable=False),
        sa.Column("infusion_started_at", _tz()),
        sa.Column("projected_infusion_end", _tz()),
        sa.Column("projected_chair_release", _tz()),
        sa.Column("next_due_action", sa.String(64)),
        sa.Column("next_due_at", _tz()),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("last_event_at", _tz()),
        sa.PrimaryKeyConstraint("session_id", name="pk_session_summaries"),
    )
    op.create_index("ix_session_summaries_status", "session_summaries", ["status"])


APPEND_ONLY = ("audit_log", "session_events")

_PG_FUNCTION = """
CREATE FUNCTION msinfusion_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$
"""


def _append_only() -> None:
    """Refuse UPDATE and DELETE on the audit log and the event store in the database itself."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            name = f"{table}_no_{action.lower()}"
            if dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION msinfusion_refuse_change()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def upgrade() -> None:
    _records()
    _accounts()
    _sessions()
    _append_only()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            suffix = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}{suffix}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS msinfusion_refuse_change()")
    for table in (
        "session_summaries",
        "session_events",
        "audit_log",
        "api_tokens",
        "users",
        "appointments",
        "therapy_orders",
        "chairs",
        "patients",
    ):
        op.drop_table(table)

"""The tables, as SQLAlchemy Core metadata (the migrations in ``migrations/versions`` create
exactly these; ``tests/integration/storage/test_migrations.py`` compares the two).

Names follow the records in ``msinfusion.application.records``: one column per field, the same
name. ``session_events`` is the append-only event store (unique ``(stream_id, version)``: a
concurrent append with a stale version is an integrity error, never an interleave);
``session_summaries`` is the board's projection, written in the transaction of the events.
``audit_log``, ``session_events`` and ``clinical_entries`` refuse UPDATE and DELETE by trigger;
``audit_log`` and ``session_events`` are hash-chained (``chain.py``, migration 0005).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from msinfusion.adapters.storage.column_types import (
    JSON_DOCUMENT,
    DecimalText,
    EnumValue,
    FoldedStateText,
    FractionText,
    JsonText,
    NameTuple,
    PairTuple,
    RecordTuple,
    UtcDateTime,
)
from msinfusion.application.device_records import QuarantineStatus
from msinfusion.application.pharmacy_records import PreparationStatus
from msinfusion.application.pump_records import PumpOrderStatus
from msinfusion.application.records import (
    Allergy,
    AppointmentStatus,
    ClinicalEntryKind,
    OrderStatus,
    PatientIdentifier,
    Role,
)
from msinfusion.application.worklist_records import WorklistActionKind

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = 64
"""Length of every record id column."""

patients = Table(
    "patients",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("date_of_birth", Date),
    Column("sex", String(16)),
    Column("height_cm", DecimalText),
    Column("weight_kg", DecimalText),
    Column("synthetic", Boolean, nullable=False),
    Column("contraindicated_therapy_ids", NameTuple, nullable=False),
    Column("identifiers", RecordTuple(PatientIdentifier), nullable=False),
    Column("allergies", RecordTuple(Allergy), nullable=False),
    Column("reminder_contact", String(254)),
)

chairs = Table(
    "chairs",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("attributes", NameTuple, nullable=False),
    Column("active", Boolean, nullable=False),
)

therapy_orders = Table(
    "therapy_orders",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("therapy_id", String(ID), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("prescriber_id", String(ID), nullable=False),
    Column("options", PairTuple, nullable=False),
    Column("premedications", PairTuple, nullable=False, server_default="[]"),
    Column("note", Text),
    Column("active", Boolean, nullable=False),
    Column("status", EnumValue(OrderStatus), nullable=False, server_default="signed"),
    Column("status_reason", Text),
    Column("signed_at", UtcDateTime),
    Column("signed_by", String(ID)),
    Column("discontinued_on", Date),
)
"""Therapy orders; ``discontinued_on``: the day treatment stopped (migration 0015)."""

appointments = Table(
    "appointments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False),
    Column("chair_id", String(ID), ForeignKey("chairs.id"), nullable=False),
    Column("protocol_id", String(ID), nullable=False),
    Column("dose_number", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False, index=True),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("status", EnumValue(AppointmentStatus), nullable=False),
    Column("order_id", String(ID), ForeignKey("therapy_orders.id")),
    Column("session_id", String(ID), index=True),
    Column("status_reason", Text),
    Index("ix_appointments_patient_id_starts_at_id", "patient_id", "starts_at", "id"),
)
"""Indexed for a day (``starts_at``), a patient's bookings in order and a session's booking
(migration 0004)."""

users = Table(
    "users",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", EnumValue(Role), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("display_name", String(200)),
    Column("must_change_password", Boolean, nullable=False, server_default=false()),
    Column("password_reset_at", UtcDateTime),
)
"""``must_change_password`` and ``password_reset_at``: migration 0005."""

browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False, index=True),
)
"""Signed-in browsers by the SHA-256 of their cookie (migration 0005)."""

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(255), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("label", String(200), nullable=False),
    Column("revoked", Boolean, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("sequence", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("user_id", String(ID), index=True),
    Column("action", String(64), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(200)),
    Column("remote_addr", String(64)),
    Column("outcome", String(32), nullable=False),
    Column("previous_hash", String(64)),
    Column("row_hash", String(64)),
    Index("ix_audit_log_resource_id_sequence", "resource_id", "sequence"),
    Index("ix_audit_log_action_sequence", "action", "sequence"),
)

session_events = Table(
    "session_events",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("stream_id", String(ID), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", JSON_DOCUMENT, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("previous_hash", String(64)),
    Column("row_hash", String(64)),
    UniqueConstraint("stream_id", "version"),
)

session_snapshots = Table(
    # One row per stream: its folded chart at ``version`` (``session.snapshot``), written in
    # the transaction of the events it folds (migration 0016). Derived data, replaced whole.
    "session_snapshots",
    metadata,
    Column("stream_id", String(ID), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("written_at", UtcDateTime, nullable=False),
)

session_summaries = Table(
    "session_summaries",
    metadata,
    Column("session_id", String(ID), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("patient_id", String(ID), index=True),
    Column("protocol_id", String(ID)),
    Column("protocol_version", String(32)),
    Column("dose_number", Integer),
    Column("rate_ml_per_h", FractionText, nullable=False),
    Column("volume_infused_ml", FractionText, nullable=False),
    Column("bag_volume_ml", FractionText, nullable=False),
    Column("infusion_started_at", UtcDateTime),
    Column("projected_infusion_end", UtcDateTime),
    Column("projected_chair_release", UtcDateTime),
    Column("next_due_action", String(64)),
    Column("next_due_at", UtcDateTime),
    Column("warnings", NameTuple, nullable=False),
    Column("last_event_at", UtcDateTime),
    # Migration 0017: the reaction history's two facts, and the folded state at ``version``
    # (the board's live state at now).
    Column("worst_reaction", String(32)),
    Column("therapy_contraindicated", Boolean),
    Column("state", FoldedStateText),
)

device_messages = Table(
    "device_messages",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("transport", String(16), nullable=False),
    Column("sender", String(200), nullable=False),
    Column("session_id", String(ID), nullable=False, index=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("answer", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("content_sha256", String(64)),
)
"""Accepted device messages by idempotency key (migration 0002): a duplicate key is refused;
``content_sha256`` (migration 0012) tells a retransmission from a reused control id."""

quarantined_messages = Table(
    "quarantined_messages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("transport", String(16), nullable=False),
    Column("received_at", UtcDateTime, nullable=False, index=True),
    Column("reason_code", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("sender", String(200)),
    Column("message_key", String(255)),
    Column("status", EnumValue(QuarantineStatus), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("replayed_at", UtcDateTime),
    Column("replayed_by", String(ID)),
    Column("session_id", String(ID)),
)
"""Device messages that could not be used, with the reason, until replayed (migration 0002)."""

clinical_entries = Table(
    "clinical_entries",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False),
    Column("kind", EnumValue(ClinicalEntryKind), nullable=False),
    Column("on", Date, nullable=False),
    Column("data", JsonText, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(ID), nullable=False),
    Index("ix_clinical_entries_patient_id_recorded_at_id", "patient_id", "recorded_at", "id"),
    Index("ix_clinical_entries_kind_recorded_at_id", "kind", "recorded_at", "id"),
)
"""A patient's dated clinical facts, append-only (migration 0003): corrections are retractions."""

dose_preparations = Table(
    "dose_preparations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("appointment_id", String(ID), ForeignKey("appointments.id"), nullable=False, index=True),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False),
    Column("protocol_id", String(ID), nullable=False),
    Column("protocol_version", String(32), nullable=False),
    Column("dose_number", Integer, nullable=False),
    Column("order_id", String(ID)),
    Column("status", EnumValue(PreparationStatus), nullable=False),
    Column("verified_by", String(ID)),
    Column("verified_at", UtcDateTime),
    Column("returned_by", String(ID)),
    Column("returned_at", UtcDateTime),
    Column("return_reason", Text),
    Column("product", String(200)),
    Column("lot", String(64)),
    Column("expiry", Date),
    Column("prepared_volume_ml", DecimalText),
    Column("diluent", String(200)),
    Column("prepared_at", UtcDateTime),
    Column("prepared_by", String(ID)),
    Column("checked_by", String(ID)),
    Column("checked_at", UtcDateTime),
)
"""The pharmacy's dose verifications and bag preparations (migration 0008); the id is the bag's."""

worklist_actions = Table(
    "worklist_actions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False),
    Column("item_id", String(200), nullable=False),
    Column("kind", EnumValue(WorklistActionKind), nullable=False),
    Column("assignee", String(ID)),
    Column("reason", Text),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(ID), nullable=False),
    Index("ix_worklist_actions_patient_id_recorded_at", "patient_id", "recorded_at"),
)
"""Assignments and documented resolutions of worklist items, append-only (migration 0010)."""

pump_associations = Table(
    "pump_associations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("chair_id", String(ID), ForeignKey("chairs.id"), nullable=False, index=True),
    Column("associated_at", UtcDateTime, nullable=False),
    Column("associated_by", String(ID), nullable=False),
    Column("method", String(16), nullable=False),
    Column("ended_at", UtcDateTime),
)
"""Which pump (serial number) serves which chair (migration 0009)."""

pump_orders = Table(
    "pump_orders",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("session_id", String(ID), nullable=False),
    Column("event_sequence", Integer, nullable=False),
    Column("pump_id", String(ID), nullable=False),
    Column("order_control", String(4), nullable=False),
    Column("rate_ml_per_h", FractionText, nullable=False),
    Column("volume_to_be_infused_ml", FractionText, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("requested_by", String(ID), nullable=False),
    Column("message", Text, nullable=False),
    Column("status", EnumValue(PumpOrderStatus), nullable=False),
    Column("reason", Text),
    Column("attempts", Integer, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("answered_at", UtcDateTime),
    Column("claimed_by", String(ID)),
    Column("claimed_until", UtcDateTime),
    Index("ix_pump_orders_status_requested_at", "status", "requested_at"),
    Index("ix_pump_orders_session_id_event_sequence", "session_id", "event_sequence"),
)
"""The PCD-03 order outbox (migration 0009): one row per order-causing session event; the
send lease and the indexes of the queued and per-session lookups (migration 0014)."""

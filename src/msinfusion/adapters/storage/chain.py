"""Tamper evidence: hash chains over ``audit_log`` and ``session_events`` (migration 0005).

Every row stores ``previous_hash`` (the ``row_hash`` of the row before it, ``GENESIS`` for the
first) and ``row_hash`` = SHA-256 of a canonical JSON array of the chain's format tag, the
previous hash and the row's own columns. Editing, inserting or deleting a row in the middle
breaks the link at that row or the next; ``verify_chains`` (``msinfusion audit verify``) walks
both chains and names the first broken row.

* ``audit_log`` is one chain in ``sequence`` order. Appends are serialised so that two writers
  cannot both link to the same tail: SQLite's ``BEGIN IMMEDIATE`` already holds the write lock,
  and PostgreSQL takes a transaction-scoped advisory lock (``AUDIT_LOCK``) first.
* ``session_events`` has one chain per stream, in ``version`` order (a stream's appends are
  already serialised by the unique ``(stream_id, version)``); verification also requires
  versions 1, 2, 3... without a gap and every session summary's version to be stored.

This is evidence, not prevention: someone who can write to the database and knows this format
can recompute every later hash. Keep an out-of-band copy of the latest hashes (``audit verify``
prints them) to detect that too. HIPAA 45 CFR 164.312(b) (audit controls) and ONC
170.315(d)(2)/(d)(3) are the anchors; see docs/security.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from msinfusion.adapters.storage import tables

GENESIS = "0" * 64
FORMAT = "msinfusion-chain-v1"
AUDIT_LOCK = 0x6D73_6900_0001
"""``pg_advisory_xact_lock`` key serialising audit appends on PostgreSQL."""

AUDIT_FIELDS = (
    "sequence",
    "at",
    "user_id",
    "action",
    "resource_type",
    "resource_id",
    "remote_addr",
    "outcome",
)
EVENT_FIELDS = ("stream_id", "version", "type", "schema_version", "payload", "recorded_at")


def _canonical(value: Any) -> Any:
    """A form that reads back the same from SQLite JSON and PostgreSQL JSONB."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def row_hash(previous: str, fields: tuple[str, ...], row: Mapping[str, Any]) -> str:
    """The hash of ``row`` linked to ``previous``."""
    document = [FORMAT, previous, *(_canonical(row.get(name)) for name in fields)]
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


_AUDIT_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_AUDIT_TAIL = (
    select(tables.audit_log.c.sequence, tables.audit_log.c.row_hash)
    .order_by(tables.audit_log.c.sequence.desc())
    .limit(1)
)
"""Built once (``statements.py``)."""


def audit_tail(connection: Connection) -> tuple[int, str]:
    """The last audit ``sequence`` and its hash (0 and ``GENESIS`` when empty), after taking
    the append lock on PostgreSQL."""
    if connection.dialect.name == "postgresql":
        connection.execute(_AUDIT_LOCK, {"key": AUDIT_LOCK})
    last = connection.execute(_AUDIT_TAIL).first()
    if last is None:
        return 0, GENESIS
    return int(last.sequence), last.row_hash or GENESIS


def stream_tail(connection: Connection, stream_id: str, version: int) -> str:
    """The hash of event ``version`` of ``stream_id`` (``GENESIS`` for version 0)."""
    if version == 0:
        return GENESIS
    table = tables.session_events
    found = connection.execute(
        select(table.c.row_hash).where(table.c.stream_id == stream_id, table.c.version == version)
    ).scalar()
    return found or GENESIS


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainReport:
    """What ``verify_chains`` found: rows checked, and the first broken row (or None)."""

    audit_rows: int
    event_rows: int
    broken: str | None
    audit_head: str
    streams: int

    @property
    def holds(self) -> bool:
        return self.broken is None


def _audit_break(connection: Connection) -> tuple[int, str | None, str]:
    """Rows checked, the first break (or None) and the head hash of the audit chain."""
    table = tables.audit_log
    previous, count = GENESIS, 0
    for row in connection.execute(select(table).order_by(table.c.sequence)).mappings():
        count += 1
        where = f"audit_log sequence {row['sequence']}"
        if row["previous_hash"] != previous:
            return count, f"{where}: previous_hash does not match the row before it", previous
        if row["row_hash"] != row_hash(previous, AUDIT_FIELDS, dict(row)):
            return count, f"{where}: the row's contents do not match its hash", previous
        previous = row["row_hash"]
    return count, None, previous


def _event_break(connection: Connection) -> tuple[int, int, str | None]:
    table = tables.session_events
    query = select(table).order_by(table.c.stream_id, table.c.version)
    count, streams, stream, previous, expected = 0, 0, None, GENESIS, 1
    for row in connection.execute(query).mappings():
        count += 1
        if row["stream_id"] != stream:
            stream, previous, expected, streams = row["stream_id"], GENESIS, 1, streams + 1
        where = f"session_events position {row['position']} ({stream} version {row['version']})"
        if row["version"] != expected:
            return count, streams, f"{where}: version {expected} is missing"
        if row["previous_hash"] != previous:
            return count, streams, f"{where}: previous_hash does not match the event before it"
        if row["row_hash"] != row_hash(previous, EVENT_FIELDS, dict(row)):
            return count, streams, f"{where}: the event's contents do not match its hash"
        previous, expected = row["row_hash"], expected + 1
    return count, streams, None


def _summary_break(connection: Connection) -> str | None:
    """A session summary whose stream has fewer events than it says (events deleted)."""
    events, summaries = tables.session_events, tables.session_summaries
    stored = (
        select(events.c.stream_id, func.max(events.c.version).label("top"))
        .group_by(events.c.stream_id)
        .subquery()
    )
    query = (
        select(summaries.c.session_id, summaries.c.version, stored.c.top)
        .select_from(summaries.outerjoin(stored, stored.c.stream_id == summaries.c.session_id))
        .where(summaries.c.version > func.coalesce(stored.c.top, 0))
        .order_by(summaries.c.session_id)
        .limit(1)
    )
    row = connection.execute(query).first()
    if row is None:
        return None
    return (
        f"session_events of {row.session_id}: the board's summary is at version "
        f"{row.version}, but only {row.top or 0} events are stored"
    )


def verify_chains(connection: Connection) -> ChainReport:
    """Walk both chains (read-only) and report the first broken row, if any."""
    audit_rows, broken, head = _audit_break(connection)
    event_rows, streams, event_broken = _event_break(connection)
    return ChainReport(
        audit_rows=audit_rows,
        event_rows=event_rows,
        broken=broken or event_broken or _summary_break(connection),
        audit_head=head,
        streams=streams,
    )

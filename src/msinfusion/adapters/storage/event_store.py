"""The SQL event store: one row per event in ``session_events``, unique ``(stream_id, version)``.

``append`` runs no version query of its own (the caller has just read the stream at that
version): it reads the hash of event ``expected_version`` to chain to — absent, the stream is
shorter than the caller thinks, ``ConcurrencyError`` at once — and inserts. A stream that is
longer (a stale caller, or a concurrent transaction that appended the same version) makes the
insert violate the unique key — on PostgreSQL the insert waits for the winner's commit, on
SQLite ``BEGIN IMMEDIATE`` serialises writers — and the ``IntegrityError`` becomes
``ConcurrencyError`` with the committed version. Either way nothing is lost or interleaved: the
loser's events are not stored and its unit of work (or savepoint) must be rolled back.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from msinfusion.adapters.storage.chain import EVENT_FIELDS, GENESIS, row_hash
from msinfusion.adapters.storage.statements import insert_into
from msinfusion.adapters.storage.tables import session_events, session_snapshots
from msinfusion.application.ports import Clock, StoredEvent, StoredSnapshot
from msinfusion.errors import ConcurrencyError, InvalidEvent


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _row(stream_id: str, version: int, event: StoredEvent, at: datetime) -> dict[str, Any]:
    try:
        event_type, schema_version = str(event["type"]), int(event["version"])
    except (KeyError, TypeError, ValueError):
        raise InvalidEvent(
            "a stored event needs a type and a schema version", field="type"
        ) from None
    return {
        "stream_id": stream_id,
        "version": version,
        "type": event_type,
        "schema_version": schema_version,
        "payload": dict(event),
        "recorded_at": at,
    }


_ROW_HASH = select(session_events.c.row_hash).where(
    session_events.c.stream_id == bindparam("stream_id"),
    session_events.c.version == bindparam("version"),
)
_PAYLOADS_AFTER = (
    select(session_events.c.payload)
    .where(
        session_events.c.stream_id == bindparam("stream_id"),
        session_events.c.version > bindparam("after_version"),
    )
    .order_by(session_events.c.version)
)
"""Built once (``statements.py``)."""


class SqlEventStore:
    """Implements ``EventStore`` on one connection (the unit of work's transaction)."""

    def __init__(self, connection: Connection, engine: Engine, clock: Clock = _utc_now) -> None:
        self._connection = connection
        self._engine = engine
        self._clock = clock

    def append(
        self, stream_id: str, events: Sequence[StoredEvent], *, expected_version: int
    ) -> int:
        if not events:
            actual = self.version(stream_id)
            if actual != expected_version:
                raise ConcurrencyError(
                    session_id=stream_id, expected=expected_version, actual=actual
                )
            return actual
        previous = self._tail_hash(stream_id, expected_version)
        if previous is None:  # the stream is shorter than the caller thinks
            raise ConcurrencyError(
                session_id=stream_id, expected=expected_version, actual=self.version(stream_id)
            )
        now = self._clock()
        rows = [_row(stream_id, expected_version + i, e, now) for i, e in enumerate(events, 1)]
        for row in rows:  # each event holds the hash of the one before it (chain.py)
            row["previous_hash"] = previous
            row["row_hash"] = previous = row_hash(previous, EVENT_FIELDS, row)
        try:  # a longer stream (stale caller, or a writer that won) violates the unique key
            self._connection.execute(insert_into(session_events), rows)
        except IntegrityError:
            raise ConcurrencyError(
                session_id=stream_id,
                expected=expected_version,
                actual=self._committed_version(stream_id),
            ) from None
        return expected_version + len(rows)

    def _tail_hash(self, stream_id: str, version: int) -> str | None:
        """The hash of event ``version`` (``GENESIS`` for 0, or a row stored before hashes), or
        None when the stream has no such event: one indexed read instead of a version query."""
        if version == 0:
            return GENESIS
        found = self._connection.execute(
            _ROW_HASH, {"stream_id": stream_id, "version": version}
        ).first()
        return None if found is None else found.row_hash or GENESIS

    def read(self, stream_id: str, *, after_version: int = 0) -> builtins.list[dict[str, Any]]:
        parameters = {"stream_id": stream_id, "after_version": after_version}
        rows = self._connection.execute(_PAYLOADS_AFTER, parameters).scalars()
        return [dict(payload) for payload in rows]

    def version(self, stream_id: str) -> int:
        return self._version_on(self._connection, stream_id)

    def list_streams(self) -> builtins.list[str]:
        query = select(session_events.c.stream_id).distinct().order_by(session_events.c.stream_id)
        return list(self._connection.execute(query).scalars())

    @staticmethod
    def _version_on(connection: Connection, stream_id: str) -> int:
        query = select(func.coalesce(func.max(session_events.c.version), 0)).where(
            session_events.c.stream_id == stream_id
        )
        return int(connection.execute(query).scalar_one())

    def _committed_version(self, stream_id: str) -> int:
        """The winner's version, read outside this (possibly aborted) transaction.

        SQLite keeps the transaction usable after a constraint error (and a second connection
        would wait for this one's write lock), so it reads on its own connection.
        """
        if self._connection.dialect.name == "sqlite":
            return self.version(stream_id)
        with self._engine.connect() as connection:
            return self._version_on(connection, stream_id)


class SqlSnapshotStore:
    """Implements ``SnapshotStore``: one ``session_snapshots`` row per stream, replaced whole.

    The document is compact JSON text (read and written as one string: a snapshot is never
    queried inside). Two writers of one stream's snapshot are already serialised by the
    events they append in the same transaction (the unique ``(stream_id, version)``)."""

    def __init__(self, connection: Connection, clock: Clock = _utc_now) -> None:
        self._connection = connection
        self._clock = clock

    def get(self, stream_id: str) -> StoredSnapshot | None:
        table = session_snapshots
        row = self._connection.execute(
            select(table.c.version, table.c.schema_version, table.c.payload).where(
                table.c.stream_id == stream_id
            )
        ).first()
        if row is None:
            return None
        return StoredSnapshot(
            stream_id=stream_id,
            version=int(row.version),
            schema_version=int(row.schema_version),
            payload=json.loads(row.payload),
        )

    def put(self, snapshot: StoredSnapshot) -> None:
        table = session_snapshots
        values = {
            "version": snapshot.version,
            "schema_version": snapshot.schema_version,
            "payload": json.dumps(snapshot.payload, separators=(",", ":"), ensure_ascii=False),
            "written_at": self._clock(),
        }
        changed = self._connection.execute(
            update(table).where(table.c.stream_id == snapshot.stream_id).values(**values)
        )
        if changed.rowcount == 0:
            self._connection.execute(insert(table).values(stream_id=snapshot.stream_id, **values))

"""The SQL event store: one row per event in ``session_events``, unique ``(stream_id, version)``.

``append`` runs no version query of its own (the caller has just read the stream at that
version): it reads the hash of event ``expected_version`` to chain to — absent, the stream is
shorter than the caller thinks, ``ConcurrencyError`` at once — and inserts. A stream that is
longer (a stale caller, or a concurrent transaction that appended the same version) makes the
insert violate the unique key — on PostgreSQL the insert waits for the winner's commit, on
SQLite ``BEGIN IMMEDIATE`` serialises writers — and the ``IntegrityError`` becomes
``ConcurrencyError`` with the committed version. Either way nothing is lost or interleaved: the
loser's events are not stored and its unit of work (or savepoint) must be rolled back.

Group commit (issue 22) saves statements three ways, all kept safe by that unique key. The
hash comes without a query when the latest ``read`` of the stream in this transaction ended at
that event and the transaction has not appended to the stream (a decision reads the stream's
tail just before it appends; a committed row never changes, while a row of this transaction
could still be rolled back with its savepoint). ``prefetch`` reads the tails of a batch's
streams in one query; each ``read`` it answers is as of that query (never for a stream this
transaction appended to): a writer that appended since makes the append refused.
``hold_appends`` keeps later appends' rows (each chained and its tail checked as it is made)
for one insert — ``flush``, the unit of work's commit, or before a read of one of their
streams — and a writer that won since makes that insert the refused one.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, bindparam, func, insert, or_, select, update
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
    select(session_events.c.payload, session_events.c.version, session_events.c.row_hash)
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
        self._tails: dict[str, tuple[int, str]] = {}
        """Per stream, the version and hash of the last event the latest ``read`` returned,
        for streams this transaction has not appended to (so only committed rows)."""
        self._appended: set[str] = set()
        self._prefetched: dict[tuple[str, int], builtins.list[Row[Any]]] = {}
        """``prefetch``'s rows by (stream, after version), until ``read`` takes them."""
        self._held: builtins.list[dict[str, Any]] | None = None
        """Rows of appends kept for one insert (``hold_appends``), or None: inserted at once."""

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
        self._insert_held(stream_id)  # its tail may be one of them
        previous = self._tail_hash(stream_id, expected_version)
        if previous is None:  # the stream is shorter than the caller thinks
            raise ConcurrencyError(
                session_id=stream_id, expected=expected_version, actual=self.version(stream_id)
            )
        now = self._clock()
        self._appended.add(stream_id)
        self._tails.pop(stream_id, None)
        rows = [_row(stream_id, expected_version + i, e, now) for i, e in enumerate(events, 1)]
        for row in rows:  # each event holds the hash of the one before it (chain.py)
            row["previous_hash"] = previous
            row["row_hash"] = previous = row_hash(previous, EVENT_FIELDS, row)
        if self._held is not None:
            self._held.extend(rows)
        else:
            self._insert(rows)
        return expected_version + len(rows)

    def _insert(self, rows: builtins.list[dict[str, Any]]) -> None:
        try:  # a longer stream (stale caller, or a writer that won) violates the unique key
            self._connection.execute(insert_into(session_events), rows)
        except IntegrityError:
            first = rows[0]
            raise ConcurrencyError(
                session_id=first["stream_id"],
                expected=first["version"] - 1,
                actual=self._committed_version(first["stream_id"]),
            ) from None

    def hold_appends(self) -> None:
        self._insert_held()
        self._held = []

    def flush(self) -> None:
        self._insert_held()
        self._held = None

    def drop_held(self) -> None:
        """Forget held rows (the transaction is rolled back)."""
        self._held = None

    def _insert_held(self, stream_id: str | None = None) -> None:
        """The held rows in one insert, in stream and version order (two listeners lock
        alike) — if any is of ``stream_id`` when given: before anything reads that stream;
        later appends are held still."""
        if stream_id is not None and not any(r["stream_id"] == stream_id for r in self._held or ()):
            return
        if self._held:
            held, self._held = self._held, []
            self._insert(sorted(held, key=lambda row: (row["stream_id"], row["version"])))

    def _tail_hash(self, stream_id: str, version: int) -> str | None:
        """The hash of event ``version`` (``GENESIS`` for 0, or a row stored before hashes), or
        None when the stream has no such event: one indexed read instead of a version query."""
        if version == 0:
            return GENESIS
        tail = self._tails.get(stream_id)
        if tail is not None and tail[0] == version:
            return tail[1]
        found = self._connection.execute(
            _ROW_HASH, {"stream_id": stream_id, "version": version}
        ).first()
        return None if found is None else found.row_hash or GENESIS

    def read(self, stream_id: str, *, after_version: int = 0) -> builtins.list[dict[str, Any]]:
        self._insert_held(stream_id)
        rows = self._prefetched.pop((stream_id, after_version), None)
        if rows is None or stream_id in self._appended:
            parameters = {"stream_id": stream_id, "after_version": after_version}
            rows = list(self._connection.execute(_PAYLOADS_AFTER, parameters))
        if rows and stream_id not in self._appended:
            self._tails[stream_id] = (rows[-1].version, rows[-1].row_hash or GENESIS)
        else:
            self._tails.pop(stream_id, None)
        return [dict(row.payload) for row in rows]

    def prefetch(self, after_versions: Mapping[str, int]) -> None:
        table = session_events
        wanted = {s: v for s, v in after_versions.items() if s not in self._appended}
        if not wanted:
            return
        query = (
            select(table.c.stream_id, table.c.payload, table.c.version, table.c.row_hash)
            .where(
                or_(
                    *(
                        and_(table.c.stream_id == stream_id, table.c.version > after)
                        for stream_id, after in sorted(wanted.items())
                    )
                )
            )
            .order_by(table.c.stream_id, table.c.version)
        )
        found: dict[str, builtins.list[Row[Any]]] = {stream_id: [] for stream_id in wanted}
        for row in self._connection.execute(query):
            found[row.stream_id].append(row)
        for stream_id, rows in found.items():
            self._prefetched[stream_id, wanted[stream_id]] = rows

    def version(self, stream_id: str) -> int:
        self._insert_held(stream_id)
        return self._version_on(self._connection, stream_id)

    def list_streams(self) -> builtins.list[str]:
        self._insert_held()
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

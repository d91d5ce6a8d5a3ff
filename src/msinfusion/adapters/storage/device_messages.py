"""``SqlDeviceMessageRepository``: accepted device messages, with group commit's batch calls.

``get_many`` reads a batch's idempotency keys in one ``SELECT … WHERE id IN (…)``;
``add_many`` writes the batch's accepted messages in one multi-row insert (executemany), in key
order so that two listeners inserting overlapping batches on PostgreSQL lock the rows in the
same order (no deadlock). The primary key stays the judge: a key another listener stored since
the read fails the insert (``DuplicateRecord``), nothing of the batch's rows is stored, and the
savepoint around the insert keeps the unit of work usable (PostgreSQL aborts a transaction on
any error otherwise).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from msinfusion.adapters.storage import tables
from msinfusion.adapters.storage.repositories import SqlRepository
from msinfusion.application.device_records import DeviceMessage
from msinfusion.errors import DuplicateRecord

_COLUMNS = tuple(f.name for f in dataclasses.fields(DeviceMessage))
_MAX_KEYS = 500
"""Keys per ``IN (…)`` (a batch holds at most 64 messages; this bounds the statement)."""


class SqlDeviceMessageRepository(SqlRepository[DeviceMessage]):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection, tables.device_messages, DeviceMessage, "device message")

    def get_many(self, keys: Collection[str]) -> dict[str, DeviceMessage]:
        wanted = sorted(set(keys))
        found: dict[str, DeviceMessage] = {}
        for start in range(0, len(wanted), _MAX_KEYS):
            chunk = wanted[start : start + _MAX_KEYS]
            query = select(self._table).where(self._table.c.id.in_(chunk))
            for row in self._connection.execute(query).mappings():
                message = DeviceMessage(**row)
                found[message.id] = message
        return found

    def add_many(self, messages: Sequence[DeviceMessage]) -> None:
        if not messages:
            return
        rows = sorted(
            ({name: getattr(m, name) for name in _COLUMNS} for m in messages),
            key=lambda row: str(row["id"]),
        )
        try:
            with self._connection.begin_nested():
                self._connection.execute(insert(self._table), rows)
        except IntegrityError:
            raise DuplicateRecord(
                f"{self._kind} {rows[0]['id']} or another of its batch already exists",
                field="id",
            ) from None

"""The pump tables in SQL: associations found by session, and the order outbox with its leases.

The same behaviour as the in-memory ones (``application/fakes.py``). ``claim`` is one
conditional ``UPDATE ... WHERE status = 'queued' AND (claimed_until IS NULL OR claimed_until <
now)``: on SQLite the write lock and on PostgreSQL the row lock (READ COMMITTED re-checks the
condition after waiting) let exactly one of two concurrent claimants change the row.
"""

from __future__ import annotations

import builtins
import dataclasses
from datetime import datetime

from sqlalchemy import Connection, or_, select, update

from msinfusion.adapters.storage import tables
from msinfusion.adapters.storage.repositories import SqlRepository
from msinfusion.application.pump_records import (
    TERMINAL,
    PumpAssociation,
    PumpOrder,
    PumpOrderStatus,
)


class SqlPumpAssociationRepository(SqlRepository[PumpAssociation]):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection, tables.pump_associations, PumpAssociation, "pump association")

    def active_for_session(self, session_id: str) -> PumpAssociation | None:
        pumps, appointments = tables.pump_associations, tables.appointments
        query = (
            select(pumps)
            .join(appointments, appointments.c.chair_id == pumps.c.chair_id)
            .where(appointments.c.session_id == session_id, pumps.c.ended_at.is_(None))
            .order_by(pumps.c.associated_at.desc(), pumps.c.id)
            .limit(1)
        )
        row = self._connection.execute(query).mappings().first()
        return None if row is None else PumpAssociation(**row)


class SqlPumpOrderRepository(SqlRepository[PumpOrder]):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection, tables.pump_orders, PumpOrder, "pump order")

    def queued(self) -> builtins.list[PumpOrder]:
        table = tables.pump_orders
        query = (
            select(table)
            .where(table.c.status == PumpOrderStatus.QUEUED)
            .order_by(table.c.requested_at, table.c.session_id, table.c.event_sequence)
        )
        return [PumpOrder(**row) for row in self._connection.execute(query).mappings()]

    def of_session(self, session_id: str) -> builtins.list[PumpOrder]:
        table = tables.pump_orders
        query = (
            select(table).where(table.c.session_id == session_id).order_by(table.c.event_sequence)
        )
        return [PumpOrder(**row) for row in self._connection.execute(query).mappings()]

    def update_unless_answered(self, order: PumpOrder) -> bool:
        table = tables.pump_orders
        values = {f.name: getattr(order, f.name) for f in dataclasses.fields(order)}
        del values["id"]
        statement = (
            update(table)
            .where(table.c.id == order.id, table.c.status.not_in(list(TERMINAL)))
            .values(values)
        )
        return self._connection.execute(statement).rowcount == 1

    def claim(self, order_id: str, *, claimant: str, until: datetime, now: datetime) -> bool:
        table = tables.pump_orders
        statement = (
            update(table)
            .where(
                table.c.id == order_id,
                table.c.status == PumpOrderStatus.QUEUED,
                or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
            )
            .values(claimed_by=claimant, claimed_until=until)
        )
        return self._connection.execute(statement).rowcount == 1

"""``SqlWorklistActionRepository``: decisions on worklist items in SQL, append-only.

The same behaviour as ``InMemoryWorklistActionRepository`` (``application/fakes.py``); the
table's triggers refuse UPDATE and DELETE (migration 0010).
"""

from __future__ import annotations

import builtins

from sqlalchemy import Connection, select

from msinfusion.adapters.storage import tables
from msinfusion.adapters.storage.repositories import SqlRepository
from msinfusion.application.worklist_records import WorklistAction
from msinfusion.errors import DuplicateRecord


class SqlWorklistActionRepository(SqlRepository[WorklistAction]):
    def __init__(self, connection: Connection) -> None:
        super().__init__(
            connection,
            tables.worklist_actions,
            WorklistAction,
            "worklist action",
            references={"patient_id": ("patient", tables.patients)},
        )

    def update(self, record: WorklistAction) -> None:
        raise DuplicateRecord("worklist decisions are append-only", field="id")

    def list(self) -> builtins.list[WorklistAction]:
        table = tables.worklist_actions
        query = select(table).order_by(table.c.recorded_at, table.c.id)
        return [WorklistAction(**row) for row in self._connection.execute(query).mappings()]

    def list_for_patient(self, patient_id: str) -> builtins.list[WorklistAction]:
        table = tables.worklist_actions
        query = (
            select(table)
            .where(table.c.patient_id == patient_id)
            .order_by(table.c.recorded_at, table.c.id)
        )
        return [WorklistAction(**row) for row in self._connection.execute(query).mappings()]

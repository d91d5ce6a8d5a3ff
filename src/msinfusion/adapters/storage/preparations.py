"""``SqlDosePreparationRepository``: the pharmacy's verifications and bag preparations in SQL.

The same behaviour as ``InMemoryDosePreparationRepository`` (``application/fakes.py``): the id
and the references (appointment, patient) are checked before writing so the errors name the
field; the table's keys are the backstop for concurrent writers. Inserts run in a savepoint so a
refused write leaves the unit of work usable.
"""

from __future__ import annotations

import builtins
import dataclasses
from typing import Any

from sqlalchemy import Connection, Table, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from msinfusion.adapters.storage import tables
from msinfusion.application.pharmacy_records import DosePreparation, decision_order
from msinfusion.errors import DuplicateRecord, RecordNotFound

_REFERENCES: dict[str, tuple[str, Table]] = {
    "appointment_id": ("appointment", tables.appointments),
    "patient_id": ("patient", tables.patients),
}


def _values(record: DosePreparation) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


class SqlDosePreparationRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._table = tables.dose_preparations

    def _exists(self, table: Table, value: str) -> bool:
        query = select(exists().where(table.c["id"] == value))
        return bool(self._connection.execute(query).scalar())

    def _check_references(self, record: DosePreparation) -> None:
        for field_name, (kind, table) in _REFERENCES.items():
            value = getattr(record, field_name)
            if not self._exists(table, value):
                raise RecordNotFound(f"no {kind} {value}", field=field_name)

    def add(self, record: DosePreparation) -> None:
        if self._exists(self._table, record.id):
            raise DuplicateRecord(f"preparation {record.id} already exists", field="id")
        self._check_references(record)
        try:
            with self._connection.begin_nested():
                self._connection.execute(insert(self._table).values(_values(record)))
        except IntegrityError:
            raise DuplicateRecord(f"preparation {record.id} already exists", field="id") from None

    def get(self, record_id: str) -> DosePreparation:
        query = select(self._table).where(self._table.c.id == record_id)
        row = self._connection.execute(query).mappings().first()
        if row is None:
            raise RecordNotFound(f"no preparation {record_id}", field="id")
        return DosePreparation(**row)

    def update(self, record: DosePreparation) -> None:
        self.get(record.id)
        self._check_references(record)
        values = _values(record)
        del values["id"]
        statement = update(self._table).where(self._table.c.id == record.id).values(values)
        self._connection.execute(statement)

    def list(self) -> builtins.list[DosePreparation]:
        query = select(self._table).order_by(self._table.c.id)
        return [DosePreparation(**row) for row in self._connection.execute(query).mappings()]

    def list_for_appointment(self, appointment_id: str) -> builtins.list[DosePreparation]:
        query = select(self._table).where(self._table.c.appointment_id == appointment_id)
        rows = [DosePreparation(**row) for row in self._connection.execute(query).mappings()]
        return sorted(rows, key=decision_order)

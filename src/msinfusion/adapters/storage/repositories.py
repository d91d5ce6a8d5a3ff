"""SQL repositories for the records of ``msinfusion.application.records``.

One generic ``SqlRepository`` maps a frozen record to a row of the same-named columns. Ids and
references are checked before writing so that the errors name the field (``DuplicateRecord``
``id``/``username``, ``RecordNotFound`` ``patient_id``) exactly as the in-memory fake does; the
database's own unique keys and foreign keys are the backstop for concurrent writers, and an
``IntegrityError`` there becomes ``DuplicateRecord`` too. Inserts run in a savepoint so that a
refused write leaves the unit of work usable (PostgreSQL aborts a transaction on any error).
Clinical entries are append-only: ``update`` is refused here as the table's triggers refuse it.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    delete,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from msinfusion.adapters.storage import tables
from msinfusion.adapters.storage.chain import AUDIT_FIELDS, audit_tail, row_hash
from msinfusion.adapters.storage.statements import (
    KEY,
    exists_by,
    insert_into,
    select_by,
    update_by,
)
from msinfusion.application.device_records import DeviceMessage, QuarantinedMessage
from msinfusion.application.pump_records import PumpAssociation, PumpOrder
from msinfusion.application.records import (
    ApiToken,
    Appointment,
    AuditEntry,
    BrowserSession,
    Chair,
    ClinicalEntry,
    ClinicalEntryKind,
    Patient,
    SessionPatient,
    SessionSummary,
    TherapyOrder,
    User,
)
from msinfusion.application.worklist_records import WorklistAction
from msinfusion.errors import DuplicateRecord, RecordNotFound

R = TypeVar(
    "R",
    Patient,
    Chair,
    TherapyOrder,
    Appointment,
    User,
    ApiToken,
    SessionSummary,
    DeviceMessage,
    QuarantinedMessage,
    ClinicalEntry,
    BrowserSession,
    WorklistAction,
    PumpAssociation,
    PumpOrder,
)
T = TypeVar("T")

Reference = tuple[str, Table]
"""The kind of record a field refers to and the table that must hold its id."""


def _row_values(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


class SqlRepository(Generic[R]):
    """Records of one type in one table, keyed by ``key`` (``id`` unless said otherwise)."""

    def __init__(
        self,
        connection: Connection,
        table: Table,
        record_type: type[R],
        kind: str,
        *,
        key: str = "id",
        references: Mapping[str, Reference] | None = None,
    ) -> None:
        self._connection = connection
        self._table = table
        self._record_type: type[R] = record_type
        self._kind = kind
        self._key = key
        self._references = dict(references or {})

    def _id(self, record: R) -> str:
        return str(getattr(record, self._key))

    def _exists(self, table: Table, column: str, value: object) -> bool:
        query = exists_by(table, column)
        return bool(self._connection.execute(query, {KEY: value}).scalar())

    def _check_references(self, record: R) -> None:
        for field_name, (kind, table) in self._references.items():
            value = getattr(record, field_name)
            if value is not None and not self._exists(table, "id", value):
                raise RecordNotFound(f"no {kind} {value}", field=field_name)

    def _check_unique(self, record: R) -> None:
        """Refuse values of unique columns other than the key (overridden where there are)."""

    def add(self, record: R) -> None:
        if self._exists(self._table, self._key, self._id(record)):
            raise DuplicateRecord(f"{self._kind} {self._id(record)} already exists", field="id")
        self._check_unique(record)
        self._check_references(record)
        try:
            with self._connection.begin_nested():
                self._connection.execute(insert_into(self._table), _row_values(record))
        except IntegrityError:
            raise DuplicateRecord(
                f"{self._kind} {self._id(record)} already exists", field="id"
            ) from None

    def get(self, record_id: str) -> R:
        query = select_by(self._table, self._key)
        row = self._connection.execute(query, {KEY: record_id}).mappings().first()
        if row is None:
            raise RecordNotFound(f"no {self._kind} {record_id}", field=self._key)
        return self._record_type(**row)

    def get_many(self, record_ids: Collection[str]) -> dict[str, R]:
        """The records with these keys, by key, in one query (one ``IN`` list)."""
        if not record_ids:
            return {}
        column = self._table.c[self._key]
        query = select(self._table).where(column.in_(sorted(set(record_ids))))
        rows = self._connection.execute(query).mappings()
        return {str(row[self._key]): self._record_type(**row) for row in rows}

    def update(self, record: R) -> None:
        self.get(self._id(record))
        self._check_unique(record)
        self._check_references(record)
        values = _row_values(record)
        del values[self._key]
        statement = (
            update(self._table).where(self._table.c[self._key] == self._id(record)).values(values)
        )
        self._connection.execute(statement)

    def list(self) -> builtins.list[R]:
        query = select(self._table).order_by(self._table.c[self._key])
        return _records(self._connection, query, self._record_type)

    def _get_where(self, column: str, value: object, what: str, field_name: str) -> R:
        query = select(self._table).where(self._table.c[column] == value)
        row = self._connection.execute(query).mappings().first()
        if row is None:
            raise RecordNotFound(f"no {self._kind} with that {what}", field=field_name)
        return self._record_type(**row)

    def _refuse_taken(self, record: R, column: str, message: str, field_name: str) -> None:
        query = select(
            exists().where(
                self._table.c[column] == getattr(record, column),
                self._table.c[self._key] != self._id(record),
            )
        )
        if self._connection.execute(query).scalar():
            raise DuplicateRecord(message, field=field_name)


def _records(
    connection: Connection, query: Select[Any], make: Callable[..., T]
) -> builtins.list[T]:
    """Every row of ``query`` as a record, its column names read once: ``make(**row)`` over
    ``.mappings()`` rebuilt the key view per row (30 us each, most of a 2,000-patient read)."""
    result = connection.execute(query)
    keys = tuple(result.keys())
    return [make(**dict(zip(keys, row, strict=True))) for row in result]


class SqlUserRepository(SqlRepository[User]):
    def _check_unique(self, record: User) -> None:
        self._refuse_taken(record, "username", f"user name {record.username} is taken", "username")

    def get_by_username(self, username: str) -> User:
        return self._get_where("username", username, "user name", "username")


class SqlTokenRepository(SqlRepository[ApiToken]):
    def _check_unique(self, record: ApiToken) -> None:
        self._refuse_taken(record, "token_hash", "that token is already stored", "token")

    def get_by_hash(self, token_hash: str) -> ApiToken:
        return self._get_where("token_hash", token_hash, "token", "token")


class SqlAppointmentRepository(SqlRepository[Appointment]):
    def list_between(self, start: datetime, end: datetime) -> builtins.list[Appointment]:
        table = tables.appointments
        query = (
            select(table)
            .where(table.c.starts_at >= start, table.c.starts_at < end)
            .order_by(table.c.starts_at, table.c.id)
        )
        return [Appointment(**row) for row in self._connection.execute(query).mappings()]

    def list_for_patient(self, patient_id: str) -> builtins.list[Appointment]:
        table = tables.appointments
        query = (
            select(table)
            .where(table.c.patient_id == patient_id)
            .order_by(table.c.starts_at, table.c.id)
        )
        return [Appointment(**row) for row in self._connection.execute(query).mappings()]

    def find_by_session(self, session_id: str) -> Appointment | None:
        row = self._connection.execute(_BY_SESSION, {KEY: session_id}).mappings().first()
        return None if row is None else Appointment(**row)


_BY_SESSION = (
    select_by(tables.appointments, "session_id").order_by(tables.appointments.c.id).limit(1)
)


class SqlOrderRepository(SqlRepository[TherapyOrder]):
    def list_for_patient(self, patient_id: str) -> builtins.list[TherapyOrder]:
        table = tables.therapy_orders
        query = select(table).where(table.c.patient_id == patient_id).order_by(table.c.id)
        return [TherapyOrder(**row) for row in self._connection.execute(query).mappings()]


class SqlClinicalEntryRepository(SqlRepository[ClinicalEntry]):
    """A patient's clinical record: ``add`` and reads only (the table refuses UPDATE/DELETE)."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(
            connection,
            tables.clinical_entries,
            ClinicalEntry,
            "clinical entry",
            references={"patient_id": ("patient", tables.patients)},
        )

    def update(self, record: ClinicalEntry) -> None:
        raise DuplicateRecord("clinical entries are append-only: record a retraction", field="id")

    def list_for_patient(self, patient_id: str) -> builtins.list[ClinicalEntry]:
        table = tables.clinical_entries
        query = (
            select(table)
            .where(table.c.patient_id == patient_id)
            .order_by(table.c.recorded_at, table.c.id)
        )
        return _records(self._connection, query, ClinicalEntry)

    def list_of_kind(self, kind: ClinicalEntryKind) -> builtins.list[ClinicalEntry]:
        table = tables.clinical_entries
        query = select(table).where(table.c.kind == kind).order_by(table.c.recorded_at, table.c.id)
        return [ClinicalEntry(**row) for row in self._connection.execute(query).mappings()]


class SqlSessionSummaryRepository(SqlRepository[SessionSummary]):
    """The board projection: ``save`` replaces a session's summary or inserts the first one.
    Listings leave the folded state out (``state=None``: not read, not decoded); ``get`` and
    ``get_many`` carry it."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(
            connection, tables.session_summaries, SessionSummary, "session", key="session_id"
        )

    def save(self, summary: SessionSummary) -> None:
        values = _row_values(summary) | {KEY: summary.session_id}
        statement = update_by(tables.session_summaries, "session_id")
        if self._connection.execute(statement, values).rowcount == 0:
            self.add(summary)

    def save_many(self, summaries: Sequence[SessionSummary]) -> None:
        """One ``UPDATE`` run for every row (executemany: pipelined on PostgreSQL), in session
        order so two listeners lock rows alike; a session without a row yet (the count falls
        short) is saved one by one instead."""
        latest = {summary.session_id: summary for summary in summaries}
        if not latest:
            return
        rows = [_row_values(latest[i]) | {KEY: i} for i in sorted(latest)]
        statement = update_by(tables.session_summaries, "session_id")  # as ``save``
        changed = self._connection.execute(statement, rows).rowcount
        if not self._connection.dialect.supports_sane_multi_rowcount or changed != len(rows):
            for session_id in sorted(latest):
                self.save(latest[session_id])

    def _listed(self, where: Any = None) -> builtins.list[SessionSummary]:
        table = tables.session_summaries
        query = select(*(c for c in table.c if c.name != "state")).order_by(table.c.session_id)
        if where is not None:
            query = query.where(where)
        return [SessionSummary(**row) for row in self._connection.execute(query).mappings()]

    def list(self, *, status: str | None = None) -> builtins.list[SessionSummary]:
        table = tables.session_summaries
        return self._listed(None if status is None else table.c.status == status)

    def list_for_patient(self, patient_id: str) -> builtins.list[SessionSummary]:
        return self._listed(tables.session_summaries.c.patient_id == patient_id)

    def list_for_patients(self, patient_ids: Collection[str]) -> builtins.list[SessionSummary]:
        if not patient_ids:
            return []
        return self._listed(tables.session_summaries.c.patient_id.in_(sorted(set(patient_ids))))

    def get_patients_of(self, session_ids: Collection[str]) -> dict[str, SessionPatient]:
        if not session_ids:
            return {}
        summaries, patients = tables.session_summaries, tables.patients
        query = (
            select(
                summaries.c.session_id,
                summaries.c.status,
                summaries.c.patient_id,
                patients.c.identifiers,
            )
            .select_from(summaries.outerjoin(patients, patients.c.id == summaries.c.patient_id))
            .where(summaries.c.session_id.in_(sorted(set(session_ids))))
        )
        return {
            row.session_id: SessionPatient(
                session_id=row.session_id,
                status=row.status,
                patient_id=row.patient_id,
                identifiers=row.identifiers or (),
            )
            for row in self._connection.execute(query)
        }


class SqlAuditLog:
    """Append-only: ``record`` inserts; there is no update or delete (triggers refuse both)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record(self, entry: AuditEntry) -> None:
        """Insert ``entry`` as the next link of the hash chain (``chain.py``)."""
        values = _row_values(entry)
        last, previous = audit_tail(self._connection)
        values["sequence"] = last + 1
        values["previous_hash"] = previous
        values["row_hash"] = row_hash(previous, AUDIT_FIELDS, values)
        self._connection.execute(insert_into(tables.audit_log), values)

    def list(
        self,
        *,
        user_id: str | None = None,
        resource_type: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
        until: datetime | None = None,
        action: str | None = None,
        resource_ids: Collection[str] | None = None,
    ) -> builtins.list[AuditEntry]:
        """The newest ``limit`` entries that match, oldest first (``AuditLog.list``): filtered,
        ordered and cut in SQL, on the indexes of migration 0013."""
        table = tables.audit_log
        query = select(table).order_by(table.c.sequence.desc()).limit(max(limit, 0))
        if until is not None:
            query = query.where(table.c.at < until)
        if action is not None:
            # "order" finds "order" and "order.*": a range, not LIKE, so the index serves it.
            kind = action.rstrip(".")
            same_kind = and_(table.c.action >= kind + ".", table.c.action < kind + "/")
            query = query.where(or_(table.c.action == action, same_kind))
        if resource_ids is not None:
            query = query.where(table.c.resource_id.in_(sorted(resource_ids)))
        if user_id is not None:
            query = query.where(table.c.user_id == user_id)
        if resource_type is not None:
            query = query.where(table.c.resource_type == resource_type)
        if since is not None:
            query = query.where(table.c.at >= since)
        rows = self._connection.execute(query).mappings().all()
        return [
            AuditEntry(**{k: v for k, v in row.items() if k not in _CHAIN_COLUMNS})
            for row in reversed(rows)
        ]


_CHAIN_COLUMNS = frozenset({"previous_hash", "row_hash"})


class SqlBrowserSessionRepository(SqlRepository[BrowserSession]):
    """Signed-in browsers; the one table rows are deleted from (logout, expiry, revocation)."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(
            connection,
            tables.browser_sessions,
            BrowserSession,
            "browser session",
            references={"user_id": ("user", tables.users)},
        )

    def remove(self, session_id: str) -> None:
        table = tables.browser_sessions
        self._connection.execute(delete(table).where(table.c.id == session_id))

    def remove_for_user(self, user_id: str, *, keep: str | None = None) -> int:
        table = tables.browser_sessions
        statement = delete(table).where(table.c.user_id == user_id)
        if keep is not None:
            statement = statement.where(table.c.id != keep)
        return int(self._connection.execute(statement).rowcount)

    def remove_expired(self, *, seen_before: datetime, created_before: datetime) -> int:
        table = tables.browser_sessions
        statement = delete(table).where(
            or_(table.c.last_seen_at < seen_before, table.c.created_at < created_before)
        )
        return int(self._connection.execute(statement).rowcount)

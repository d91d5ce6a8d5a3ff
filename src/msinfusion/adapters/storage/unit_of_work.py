"""``SqlUnitOfWork``: one database transaction over every repository and the event store.

``with uow: ...; uow.commit()`` — leaving the block without ``commit`` rolls back; ``commit``
returns only when the transaction is durable (``synchronous=FULL`` on SQLite, PostgreSQL's
default ``synchronous_commit=on``), which is when a command may be acknowledged.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from msinfusion.adapters.storage import tables
from msinfusion.adapters.storage.device_messages import SqlDeviceMessageRepository
from msinfusion.adapters.storage.engine import READ_ONLY
from msinfusion.adapters.storage.event_store import SqlEventStore, SqlSnapshotStore, _utc_now
from msinfusion.adapters.storage.preparations import SqlDosePreparationRepository
from msinfusion.adapters.storage.pumps import SqlPumpAssociationRepository, SqlPumpOrderRepository
from msinfusion.adapters.storage.repositories import (
    SqlAppointmentRepository,
    SqlAuditLog,
    SqlBrowserSessionRepository,
    SqlClinicalEntryRepository,
    SqlOrderRepository,
    SqlRepository,
    SqlSessionSummaryRepository,
    SqlTokenRepository,
    SqlUserRepository,
)
from msinfusion.adapters.storage.worklist_actions import SqlWorklistActionRepository
from msinfusion.application.device_records import QuarantinedMessage
from msinfusion.application.ports import Clock
from msinfusion.application.records import (
    ApiToken,
    Appointment,
    Chair,
    Patient,
    TherapyOrder,
    User,
)


class SqlUnitOfWork:
    """A transaction on ``engine``, begun on ``__enter__`` and ended by commit or rollback."""

    def __init__(self, engine: Engine, *, clock: Clock = _utc_now, read_only: bool = False) -> None:
        self._engine = engine
        self._clock = clock
        self._read_only = read_only
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already in use")
        connection = self._engine.connect()
        if self._read_only:  # SQLite: BEGIN DEFERRED, no write lock (engine.py)
            connection.execution_options(**{READ_ONLY: True})
        self._connection = connection
        patients = ("patient", tables.patients)
        self.patients = SqlRepository[Patient](connection, tables.patients, Patient, "patient")
        self.chairs = SqlRepository[Chair](connection, tables.chairs, Chair, "chair")
        self.orders = SqlOrderRepository(
            connection,
            tables.therapy_orders,
            TherapyOrder,
            "order",
            references={"patient_id": patients},
        )
        self.appointments = SqlAppointmentRepository(
            connection,
            tables.appointments,
            Appointment,
            "appointment",
            references={
                "patient_id": patients,
                "chair_id": ("chair", tables.chairs),
                "order_id": ("order", tables.therapy_orders),
            },
        )
        self.clinical_entries = SqlClinicalEntryRepository(connection)
        self.users = SqlUserRepository(connection, tables.users, User, "user")
        self.tokens = SqlTokenRepository(
            connection,
            tables.api_tokens,
            ApiToken,
            "token",
            references={"user_id": ("user", tables.users)},
        )
        self.sessions = SqlSessionSummaryRepository(connection)
        self.device_messages = SqlDeviceMessageRepository(connection)
        self.quarantine = SqlRepository[QuarantinedMessage](
            connection, tables.quarantined_messages, QuarantinedMessage, "quarantined message"
        )
        self.audit = SqlAuditLog(connection)
        self.browser_sessions = SqlBrowserSessionRepository(connection)
        self.preparations = SqlDosePreparationRepository(connection)
        self.worklist_actions = SqlWorklistActionRepository(connection)

        self.pump_associations = SqlPumpAssociationRepository(connection)
        self.pump_orders = SqlPumpOrderRepository(connection)
        self.events = SqlEventStore(connection, self._engine, self._clock)
        self.snapshots = SqlSnapshotStore(connection, self._clock)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.rollback()
            finally:
                connection.close()

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("use the unit of work in a with block")
        return self._connection

    def commit(self) -> None:
        """Make every write of this transaction durable; the block may go on with a new one."""
        if self._read_only:
            raise RuntimeError("a read-only unit of work has nothing to commit")
        connection = self._require_connection()
        self.events.flush()  # held appends (group commit) are part of the transaction
        connection.commit()

    def rollback(self) -> None:
        connection = self._require_connection()
        self.events.drop_held()
        connection.rollback()

    def savepoint(self) -> AbstractContextManager[object]:
        """``SAVEPOINT`` … ``RELEASE``, or ``ROLLBACK TO`` it if the block raises
        (``Savepoints``: group commit of device messages)."""
        return self._require_connection().begin_nested()


class SqlUnitOfWorkFactory:
    """What ``SessionService(unit_of_work=...)`` and the web app take: a new unit per call;
    ``read_only()`` a unit for reads alone (``application.ports.ReadOnlyUnits``)."""

    def __init__(self, engine: Engine, *, clock: Clock = _utc_now) -> None:
        self._engine = engine
        self._clock = clock

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, clock=self._clock)

    def read_only(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, clock=self._clock, read_only=True)


def sql_unit_of_work_factory(engine: Engine, *, clock: Clock = _utc_now) -> SqlUnitOfWorkFactory:
    """A ``SqlUnitOfWorkFactory`` on ``engine``."""
    return SqlUnitOfWorkFactory(engine, clock=clock)

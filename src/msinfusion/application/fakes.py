"""In-memory implementations of every port: for tests, docs, demos and the CLI.

``InMemoryDatabase`` is the shared state; each ``InMemoryUnitOfWork`` works on a private copy and
publishes its changes on ``commit`` under a lock, re-checking every event stream it appended to
and every id it added, so the fake has the same transactional and concurrency behaviour as the
SQL adapters (``tests/contract`` runs one suite against both). References are checked like
foreign keys: an appointment's ``patient_id`` must name a stored patient.
"""

from __future__ import annotations

import builtins
import dataclasses
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from msinfusion.application.device_records import DeviceMessage, QuarantinedMessage
from msinfusion.application.pharmacy_records import DosePreparation, decision_order
from msinfusion.application.ports import StoredEvent, StoredSnapshot, is_action
from msinfusion.application.pump_records import (
    TERMINAL,
    PumpAssociation,
    PumpOrder,
    PumpOrderStatus,
)
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
from msinfusion.errors import ConcurrencyError, DuplicateRecord, RecordNotFound

R = TypeVar(
    "R",
    Patient,
    Chair,
    TherapyOrder,
    Appointment,
    User,
    ApiToken,
    DeviceMessage,
    QuarantinedMessage,
    ClinicalEntry,
    BrowserSession,
    DosePreparation,
    WorklistAction,
    PumpAssociation,
    PumpOrder,
)

Reference = tuple[str, Mapping[str, object]]
"""The kind of record a field refers to, and the rows it must be found in."""


@dataclass(slots=True)
class InMemoryDatabase:
    """Everything a centre stores, in dicts; shared by the units of work made from it."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    streams: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    snapshots: dict[str, StoredSnapshot] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class InMemoryRepository(Generic[R]):
    def __init__(
        self,
        kind: str,
        rows: dict[str, R],
        references: Mapping[str, Reference] | None = None,
    ) -> None:
        self._kind = kind
        self._rows: dict[str, R] = rows
        self._references = dict(references or {})
        self.added: set[str] = set()
        self.changed: set[str] = set()

    def _check_references(self, record: R) -> None:
        for field_name, (kind, rows) in self._references.items():
            value = getattr(record, field_name)
            if value is not None and value not in rows:
                raise RecordNotFound(f"no {kind} {value}", field=field_name)

    def add(self, record: R) -> None:
        if record.id in self._rows:
            raise DuplicateRecord(f"{self._kind} {record.id} already exists", field="id")
        self._check_references(record)
        self._rows[record.id] = record
        self.added.add(record.id)
        self.changed.add(record.id)

    def get(self, record_id: str) -> R:
        try:
            return self._rows[record_id]
        except KeyError:
            raise RecordNotFound(f"no {self._kind} {record_id}", field="id") from None

    def update(self, record: R) -> None:
        self.get(record.id)
        self._check_references(record)
        self._rows[record.id] = record
        self.changed.add(record.id)

    def list(self) -> builtins.list[R]:
        return sorted(self._rows.values(), key=lambda r: r.id)

    def get_many(self, record_ids: Collection[str]) -> dict[str, R]:
        return {i: self._rows[i] for i in record_ids if i in self._rows}

    def _find(self, predicate: Callable[[R], bool], what: str, field_name: str) -> R:
        for record in self._rows.values():
            if predicate(record):
                return record
        raise RecordNotFound(f"no {self._kind} with that {what}", field=field_name)

    def _refuse_taken(self, record: R, attribute: str, message: str, field_name: str) -> None:
        value = getattr(record, attribute)
        if any(getattr(r, attribute) == value and r.id != record.id for r in self._rows.values()):
            raise DuplicateRecord(message, field=field_name)


class InMemoryDeviceMessageRepository(InMemoryRepository[DeviceMessage]):
    """``ports.DeviceMessageRepository``: the batch read and write of group commit."""

    def get_many(self, keys: Collection[str]) -> dict[str, DeviceMessage]:
        return {key: self._rows[key] for key in keys if key in self._rows}

    def add_many(self, messages: Sequence[DeviceMessage]) -> None:
        keys = [m.id for m in messages]
        taken = [key for key in keys if key in self._rows]
        if taken or len(set(keys)) != len(keys):
            raise DuplicateRecord(f"{self._kind} {(taken or keys)[0]} already exists", field="id")
        for message in messages:
            self.add(message)


class InMemoryUserRepository(InMemoryRepository[User]):
    def add(self, record: User) -> None:
        self._refuse_taken(record, "username", f"user name {record.username} is taken", "username")
        super().add(record)

    def update(self, record: User) -> None:
        self._refuse_taken(record, "username", f"user name {record.username} is taken", "username")
        super().update(record)

    def get_by_username(self, username: str) -> User:
        return self._find(lambda u: u.username == username, "user name", "username")


class InMemoryTokenRepository(InMemoryRepository[ApiToken]):
    def add(self, record: ApiToken) -> None:
        self._refuse_taken(record, "token_hash", "that token is already stored", "token")
        super().add(record)

    def get_by_hash(self, token_hash: str) -> ApiToken:
        return self._find(lambda t: t.token_hash == token_hash, "token", "token")


class InMemoryBrowserSessionRepository(InMemoryRepository[BrowserSession]):
    """Browser sessions; ``removed`` ids are deleted at commit (the one deletable record)."""

    def __init__(self, rows: dict[str, BrowserSession], users: Mapping[str, object]) -> None:
        super().__init__("browser session", rows, {"user_id": ("user", users)})
        self.removed: set[str] = set()

    def add(self, record: BrowserSession) -> None:
        super().add(record)
        self.removed.discard(record.id)

    def remove(self, session_id: str) -> None:
        if self._rows.pop(session_id, None) is not None:
            self.changed.discard(session_id)
            self.removed.add(session_id)

    def _remove_where(self, predicate: Callable[[BrowserSession], bool]) -> int:
        doomed = [s.id for s in self._rows.values() if predicate(s)]
        for session_id in doomed:
            self.remove(session_id)
        return len(doomed)

    def remove_for_user(self, user_id: str, *, keep: str | None = None) -> int:
        return self._remove_where(lambda s: s.user_id == user_id and s.id != keep)

    def remove_expired(self, *, seen_before: datetime, created_before: datetime) -> int:
        return self._remove_where(
            lambda s: s.last_seen_at < seen_before or s.created_at < created_before
        )


class InMemoryClinicalEntryRepository(InMemoryRepository[ClinicalEntry]):
    """Append-only: ``update`` is refused, as the SQL tables' triggers refuse it."""

    def update(self, record: ClinicalEntry) -> None:
        raise DuplicateRecord("clinical entries are append-only: record a retraction", field="id")

    def list_for_patient(self, patient_id: str) -> builtins.list[ClinicalEntry]:
        return sorted(
            (e for e in self._rows.values() if e.patient_id == patient_id),
            key=lambda e: (e.recorded_at, e.id),
        )

    def list_of_kind(self, kind: ClinicalEntryKind) -> builtins.list[ClinicalEntry]:
        return sorted(
            (e for e in self._rows.values() if e.kind is kind), key=lambda e: (e.recorded_at, e.id)
        )


class InMemoryAppointmentRepository(InMemoryRepository[Appointment]):
    def list_between(self, start: datetime, end: datetime) -> builtins.list[Appointment]:
        return sorted(
            (a for a in self._rows.values() if start <= a.starts_at < end),
            key=lambda a: (a.starts_at, a.id),
        )

    def list_for_patient(self, patient_id: str) -> builtins.list[Appointment]:
        return sorted(
            (a for a in self._rows.values() if a.patient_id == patient_id),
            key=lambda a: (a.starts_at, a.id),
        )

    def find_by_session(self, session_id: str) -> Appointment | None:
        found = [a for a in self._rows.values() if a.session_id == session_id]
        return min(found, key=lambda a: a.id) if found else None


class InMemoryOrderRepository(InMemoryRepository[TherapyOrder]):
    def list_for_patient(self, patient_id: str) -> builtins.list[TherapyOrder]:
        return sorted(
            (o for o in self._rows.values() if o.patient_id == patient_id), key=lambda o: o.id
        )


class InMemoryDosePreparationRepository(InMemoryRepository[DosePreparation]):
    def list_for_appointment(self, appointment_id: str) -> builtins.list[DosePreparation]:
        return sorted(
            (r for r in self._rows.values() if r.appointment_id == appointment_id),
            key=decision_order,
        )


class InMemoryWorklistActionRepository(InMemoryRepository[WorklistAction]):
    """Append-only, as the SQL table."""

    def update(self, record: WorklistAction) -> None:
        raise DuplicateRecord("worklist decisions are append-only", field="id")

    def list(self) -> builtins.list[WorklistAction]:
        return sorted(self._rows.values(), key=lambda a: (a.recorded_at, a.id))

    def list_for_patient(self, patient_id: str) -> builtins.list[WorklistAction]:
        return [a for a in self.list() if a.patient_id == patient_id]


class InMemoryPumpAssociationRepository(InMemoryRepository[PumpAssociation]):
    def __init__(self, rows: dict[str, PumpAssociation], appointments: dict[str, Any]) -> None:
        super().__init__("pump association", rows)
        self._appointments = appointments

    def active_for_session(self, session_id: str) -> PumpAssociation | None:
        chairs = {a.chair_id for a in self._appointments.values() if a.session_id == session_id}
        found = [a for a in self._rows.values() if a.chair_id in chairs and a.is_active]
        return max(found, key=lambda a: (a.associated_at, a.id)) if found else None


class InMemoryPumpOrderRepository(InMemoryRepository[PumpOrder]):
    """``claim`` takes the lease in the shared database at once, under its lock (as if in a
    transaction of its own, which is how the dispatcher claims): one claimant wins."""

    def __init__(self, rows: dict[str, PumpOrder], database: InMemoryDatabase) -> None:
        super().__init__("pump order", rows)
        self._database = database

    def queued(self) -> builtins.list[PumpOrder]:
        found = [o for o in self._rows.values() if o.status is PumpOrderStatus.QUEUED]
        return sorted(found, key=lambda o: (o.requested_at, o.session_id, o.event_sequence))

    def of_session(self, session_id: str) -> builtins.list[PumpOrder]:
        found = [o for o in self._rows.values() if o.session_id == session_id]
        return sorted(found, key=lambda o: o.event_sequence)

    def update_unless_answered(self, order: PumpOrder) -> bool:
        if self.get(order.id).status in TERMINAL:
            return False
        self.update(order)
        return True

    def claim(self, order_id: str, *, claimant: str, until: datetime, now: datetime) -> bool:
        with self._database.lock:
            committed = self._database.tables.setdefault("pump_orders", {})
            order = committed.get(order_id)
            free = order is not None and (order.claimed_until is None or order.claimed_until < now)
            if order is None or order.status is not PumpOrderStatus.QUEUED or not free:
                return False
            claimed = dataclasses.replace(order, claimed_by=claimant, claimed_until=until)
            committed[order_id] = claimed
            self._rows[order_id] = claimed
            return True


class InMemorySessionSummaryRepository:
    def __init__(self, rows: dict[str, SessionSummary], patients: dict[str, Patient]) -> None:
        self._rows, self._patients = rows, patients
        self.added: set[str] = set()
        self.changed: set[str] = set()

    def add(self, summary: SessionSummary) -> None:
        if summary.session_id in self._rows:
            raise DuplicateRecord(f"session {summary.session_id} already exists", field="id")
        self.save(summary)
        self.added.add(summary.session_id)

    def get(self, session_id: str) -> SessionSummary:
        try:
            return self._rows[session_id]
        except KeyError:
            raise RecordNotFound(f"no session {session_id}", field="session_id") from None

    def save(self, summary: SessionSummary) -> None:
        self._rows[summary.session_id] = summary
        self.changed.add(summary.session_id)

    def save_many(self, summaries: Sequence[SessionSummary]) -> None:
        for summary in summaries:
            self.save(summary)

    def _listed(self, keep: Callable[[SessionSummary], bool]) -> builtins.list[SessionSummary]:
        """As the SQL store: listings leave the folded state out."""
        return sorted(
            (dataclasses.replace(s, state=None) for s in self._rows.values() if keep(s)),
            key=lambda s: s.session_id,
        )

    def list(self, *, status: str | None = None) -> builtins.list[SessionSummary]:
        return self._listed(lambda s: status is None or s.status == status)

    def list_for_patient(self, patient_id: str) -> builtins.list[SessionSummary]:
        return self._listed(lambda s: s.patient_id == patient_id)

    def get_many(self, session_ids: Collection[str]) -> dict[str, SessionSummary]:
        return {i: self._rows[i] for i in session_ids if i in self._rows}

    def list_for_patients(self, patient_ids: Collection[str]) -> builtins.list[SessionSummary]:
        wanted = set(patient_ids)
        return self._listed(lambda s: s.patient_id in wanted)

    def get_patients_of(self, session_ids: Collection[str]) -> dict[str, SessionPatient]:
        found = (self._rows[i] for i in set(session_ids) & self._rows.keys())
        patients = self._patients
        return {s.session_id: SessionPatient.of(s, patients.get(s.patient_id or "")) for s in found}


class InMemoryEventStore:
    """Streams are copied on write, so a snapshot of the stream dict is a consistent read."""

    def __init__(self, streams: dict[str, list[dict[str, Any]]]) -> None:
        self._streams = streams
        self.appended_from: dict[str, int] = {}

    def append(
        self, stream_id: str, events: Sequence[StoredEvent], *, expected_version: int
    ) -> int:
        stream = self._streams.get(stream_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(
                session_id=stream_id, expected=expected_version, actual=len(stream)
            )
        self.appended_from.setdefault(stream_id, expected_version)
        self._streams[stream_id] = [*stream, *(dict(e) for e in events)]
        return len(self._streams[stream_id])

    def read(self, stream_id: str, *, after_version: int = 0) -> builtins.list[dict[str, Any]]:
        return [dict(e) for e in self._streams.get(stream_id, [])[after_version:]]

    def prefetch(self, after_versions: Mapping[str, int]) -> None:
        """In memory a read is as cheap (and ``hold_appends`` holds nothing)."""

    def hold_appends(self) -> None: ...

    def flush(self) -> None: ...

    def version(self, stream_id: str) -> int:
        return len(self._streams.get(stream_id, []))

    def list_streams(self) -> builtins.list[str]:
        return sorted(sid for sid, events in self._streams.items() if events)


class InMemorySnapshotStore:
    """Snapshots by stream; ``written`` are published on commit."""

    def __init__(self, committed: Mapping[str, StoredSnapshot]) -> None:
        self._committed = committed
        self.written: dict[str, StoredSnapshot] = {}

    def get(self, stream_id: str) -> StoredSnapshot | None:
        return self.written.get(stream_id) or self._committed.get(stream_id)

    def put(self, snapshot: StoredSnapshot) -> None:
        self.written[snapshot.stream_id] = snapshot


class InMemoryAuditLog:
    """Entries of this transaction after the committed ones (``committed`` is a snapshot)."""

    def __init__(
        self, entries: list[AuditEntry], committed: Sequence[AuditEntry] | None = None
    ) -> None:
        self._entries = entries
        self._committed = committed or ()

    def record(self, entry: AuditEntry) -> None:
        self._entries.append(entry)

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
        found = [
            e
            for e in (*self._committed, *self._entries)
            if (user_id is None or e.user_id == user_id)
            and (resource_type is None or e.resource_type == resource_type)
            and (since is None or e.at >= since)
            and (until is None or e.at < until)
            and (action is None or is_action(e.action, action))
            and (resource_ids is None or e.resource_id in resource_ids)
        ]
        return found[-limit:] if limit > 0 else []


_TABLES = (
    "patients",
    "chairs",
    "orders",
    "appointments",
    "users",
    "tokens",
    "sessions",
    "device_messages",
    "quarantine",
    "clinical_entries",
    "browser_sessions",
    "preparations",
    "worklist_actions",
    "pump_associations",
    "pump_orders",
)


class InMemoryUnitOfWork:
    """A transaction over an ``InMemoryDatabase``; see the module docstring."""

    def __init__(self, database: InMemoryDatabase | None = None) -> None:
        self.database = database or InMemoryDatabase()
        self._begin()

    def _begin(self) -> None:
        db = self.database
        with db.lock:
            self._tables = {name: dict(db.tables.get(name, {})) for name in _TABLES}
            self._streams = dict(db.streams)
            committed_snapshots = dict(db.snapshots)
            self._committed_audit = tuple(db.audit)
            self._audit: list[AuditEntry] = []
        tables = self._tables
        patients: Reference = ("patient", tables["patients"])
        self.patients = InMemoryRepository[Patient]("patient", tables["patients"])
        self.chairs = InMemoryRepository[Chair]("chair", tables["chairs"])
        self.orders = InMemoryOrderRepository("order", tables["orders"], {"patient_id": patients})
        self.appointments = InMemoryAppointmentRepository(
            "appointment",
            tables["appointments"],
            {
                "patient_id": patients,
                "chair_id": ("chair", tables["chairs"]),
                "order_id": ("order", tables["orders"]),
            },
        )
        self.clinical_entries = InMemoryClinicalEntryRepository(
            "clinical entry", tables["clinical_entries"], {"patient_id": patients}
        )
        self.users = InMemoryUserRepository("user", tables["users"])
        self.tokens = InMemoryTokenRepository(
            "token", tables["tokens"], {"user_id": ("user", tables["users"])}
        )
        self.sessions = InMemorySessionSummaryRepository(tables["sessions"], tables["patients"])
        self.browser_sessions = InMemoryBrowserSessionRepository(
            tables["browser_sessions"], tables["users"]
        )
        self.device_messages = InMemoryDeviceMessageRepository(
            "device message", tables["device_messages"]
        )
        self.quarantine = InMemoryRepository[QuarantinedMessage](
            "quarantined message", tables["quarantine"]
        )
        self.preparations = InMemoryDosePreparationRepository(
            "preparation",
            tables["preparations"],
            {"appointment_id": ("appointment", tables["appointments"]), "patient_id": patients},
        )
        self.worklist_actions = InMemoryWorklistActionRepository(
            "worklist action", tables["worklist_actions"], {"patient_id": patients}
        )

        self.pump_associations = InMemoryPumpAssociationRepository(
            tables["pump_associations"], tables["appointments"]
        )
        self.pump_orders = InMemoryPumpOrderRepository(tables["pump_orders"], self.database)
        self.events = InMemoryEventStore(self._streams)
        self.snapshots = InMemorySnapshotStore(committed_snapshots)
        self.audit = InMemoryAuditLog(self._audit, self._committed_audit)

    def _repositories(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "chairs": self.chairs,
            "orders": self.orders,
            "appointments": self.appointments,
            "users": self.users,
            "tokens": self.tokens,
            "sessions": self.sessions,
            "device_messages": self.device_messages,
            "quarantine": self.quarantine,
            "clinical_entries": self.clinical_entries,
            "browser_sessions": self.browser_sessions,
            "preparations": self.preparations,
            "worklist_actions": self.worklist_actions,
            "pump_associations": self.pump_associations,
            "pump_orders": self.pump_orders,
        }

    def __enter__(self) -> Self:
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def _check_conflicts(self) -> None:
        db = self.database
        for stream_id, expected in self.events.appended_from.items():
            actual = len(db.streams.get(stream_id, []))
            if actual != expected:
                raise ConcurrencyError(session_id=stream_id, expected=expected, actual=actual)
        for name, repository in self._repositories().items():
            for record_id in repository.added:
                if record_id in db.tables.get(name, {}):
                    raise DuplicateRecord(f"{name} {record_id} already exists", field="id")

    def commit(self) -> None:
        db = self.database
        with db.lock:
            self._check_conflicts()
            for name, repository in self._repositories().items():
                rows = db.tables.setdefault(name, {})
                for record_id in repository.changed:
                    rows[record_id] = self._tables[name][record_id]
                for record_id in getattr(repository, "removed", ()):
                    rows.pop(record_id, None)
            for stream_id in self.events.appended_from:
                db.streams[stream_id] = self._streams[stream_id]
            db.snapshots.update(self.snapshots.written)
            first = len(db.audit) + 1
            db.audit.extend(
                dataclasses.replace(entry, sequence=first + i)
                for i, entry in enumerate(self._audit)
            )
        self._begin()

    def rollback(self) -> None:
        self._begin()

"""Ports: what the service layer needs from the outside world, as typing Protocols.

Adapters implement them (``adapters/storage`` for SQLite/PostgreSQL, ``application/fakes.py`` in
memory); one contract test suite runs against every implementation. Errors:
``RecordNotFound`` for a missing id or a reference to one (an appointment's ``patient_id``),
``DuplicateRecord`` for an id that exists, ``ConcurrencyError`` for a stale expected version —
never a silent overwrite.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar, runtime_checkable

from msinfusion.application.device_records import DeviceMessage, QuarantinedMessage
from msinfusion.application.pharmacy_records import DosePreparation
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


class Clock(Protocol):
    """The time now, timezone-aware. Cores take times as arguments; only adapters hold a real
    clock (``bootstrap.system_clock``), and tests pass a fixed or stepping one."""

    def __call__(self) -> datetime: ...


StoredEvent = Mapping[str, Any]
"""An event in its stored form: ``msinfusion.session.codec.event_to_dict``."""

T = TypeVar("T")


class EventStore(Protocol):
    """Append-only streams of stored events, one per infusion session."""

    def append(
        self, stream_id: str, events: Sequence[StoredEvent], *, expected_version: int
    ) -> int:
        """Append after exactly ``expected_version`` events; return the new version.

        Raises ``ConcurrencyError`` if the stream has another length (including a concurrent
        append that won). All events of one call are stored, or none.
        """
        ...

    def read(self, stream_id: str, *, after_version: int = 0) -> builtins.list[dict[str, Any]]:
        """Stored events with version > ``after_version``, in order (empty for a new stream)."""
        ...

    def prefetch(self, after_versions: Mapping[str, int]) -> None:
        """Read these streams' events after these versions in one query, for the next ``read``
        of each at that version (once; group commit reads every monitor's tail so). A store
        may ignore it; a ``read`` so answered is as of the prefetch, which the stream's
        unique version key makes safe (a later writer's events make the append refused)."""
        ...

    def hold_appends(self) -> None:
        """Keep the rows of later appends for one insert, made by ``flush`` (or the unit of
        work's commit) or before anything reads a stream: a group-commit batch's events in
        one statement. Each append still checks its tail; a writer that won since is refused
        by that insert (``ConcurrencyError``), so the caller must not rely on which append
        fails. For a transaction without savepoints only (held rows ignore them)."""
        ...

    def flush(self) -> None:
        """Insert the held rows (``hold_appends``) and stop holding."""
        ...

    def version(self, stream_id: str) -> int: ...

    def list_streams(self) -> builtins.list[str]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSnapshot:
    """A stream's folded chart at ``version`` (``session.snapshot``), in its stored form."""

    stream_id: str
    version: int
    schema_version: int
    payload: Mapping[str, Any]


class SnapshotStore(Protocol):
    """One snapshot per stream, the latest written (derived data: the events stay the truth)."""

    def get(self, stream_id: str) -> StoredSnapshot | None:
        """The stream's snapshot, or None."""
        ...

    def put(self, snapshot: StoredSnapshot) -> None:
        """Store ``snapshot`` in this transaction, replacing the stream's earlier one."""
        ...


class Repository(Protocol[T]):
    """Records by id. ``add`` refuses an existing id; ``update`` refuses a missing one."""

    def add(self, record: T) -> None: ...

    def get(self, record_id: str) -> T: ...

    def update(self, record: T) -> None: ...

    def list(self) -> builtins.list[T]: ...


class DeviceMessageRepository(Repository[DeviceMessage], Protocol):
    """Accepted device messages by idempotency key, with the two batch operations of group
    commit (``DeviceFeed.ingest_many``): one read and one write per batch, not per message."""

    def get_many(self, keys: Collection[str]) -> dict[str, DeviceMessage]:
        """The stored messages among ``keys``, by key (absent keys are left out): one query."""
        ...

    def add_many(self, messages: Sequence[DeviceMessage]) -> None:
        """Store every message, or none: ``DuplicateRecord`` if a key is stored already (the
        database's unique key decides, so two listeners never both store one) or given twice.
        One multi-row insert; the unit of work stays usable after a refusal."""
        ...


class PatientRepository(Repository[Patient], Protocol):
    def get_many(self, patient_ids: Collection[str]) -> dict[str, Patient]:
        """The patients with these ids, by id, in one query (ids not stored are left out)."""
        ...


class PumpAssociationRepository(Repository[PumpAssociation], Protocol):
    def active_for_session(self, session_id: str) -> PumpAssociation | None:
        """The pump serving the chair of the session's appointment now (the newest active
        association), or None: one indexed query, run inside every chairside command that
        could cause a pump order."""
        ...


class PumpOrderRepository(Repository[PumpOrder], Protocol):
    """The PCD-03 outbox (``add`` refuses an order id twice)."""

    def queued(self) -> builtins.list[PumpOrder]:
        """The queued orders, oldest first (``requested_at``, session, sequence): indexed."""
        ...

    def of_session(self, session_id: str) -> builtins.list[PumpOrder]:
        """A session's orders in event order: indexed."""
        ...

    def update_unless_answered(self, order: PumpOrder) -> bool:
        """Store ``order`` whole unless the stored one is already confirmed or rejected (an
        answer that came in meanwhile); whether it was stored. One conditional update."""
        ...

    def claim(self, order_id: str, *, claimant: str, until: datetime, now: datetime) -> bool:
        """Take the send lease of a queued order: True for exactly one claimant while the lease
        is free (never claimed, released, or ended before ``now``), False otherwise. A
        conditional update: two processes claiming at once cannot both win."""
        ...


class UserRepository(Repository[User], Protocol):
    def get_by_username(self, username: str) -> User: ...


class TokenRepository(Repository[ApiToken], Protocol):
    def get_by_hash(self, token_hash: str) -> ApiToken: ...


class BrowserSessionRepository(Protocol):
    """Signed-in browsers by the hash of their cookie (``BrowserSession.id``).

    ``get`` raises ``RecordNotFound``; ``remove`` of a missing id is no error.
    """

    def add(self, session: BrowserSession) -> None: ...

    def get(self, session_id: str) -> BrowserSession: ...

    def update(self, session: BrowserSession) -> None: ...

    def remove(self, session_id: str) -> None: ...

    def remove_for_user(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of ``user_id`` but ``keep``; return how many ended."""
        ...

    def remove_expired(self, *, seen_before: datetime, created_before: datetime) -> int:
        """End sessions last seen before ``seen_before`` or opened before ``created_before``."""
        ...


class AppointmentRepository(Repository[Appointment], Protocol):
    def list_between(self, start: datetime, end: datetime) -> builtins.list[Appointment]: ...

    def list_for_patient(self, patient_id: str) -> builtins.list[Appointment]:
        """The patient's appointments, any status, ordered by ``starts_at`` then id."""
        ...

    def find_by_session(self, session_id: str) -> Appointment | None:
        """The appointment whose visit became session ``session_id`` (None for a walk-in);
        the lowest id should several name it."""
        ...


class OrderRepository(Repository[TherapyOrder], Protocol):
    def list_for_patient(self, patient_id: str) -> builtins.list[TherapyOrder]:
        """The patient's orders, active or not, ordered by id (as ``list``)."""
        ...


class ClinicalEntryRepository(Protocol):
    """A patient's clinical entries: append-only (no update, no delete).

    ``add`` refuses an existing id (``DuplicateRecord``) and an unknown patient
    (``RecordNotFound``, field ``patient_id``).
    """

    def add(self, entry: ClinicalEntry) -> None: ...

    def get(self, entry_id: str) -> ClinicalEntry: ...

    def list(self) -> builtins.list[ClinicalEntry]:
        """Every patient's entries, by id (the worklist reads them in one query)."""
        ...

    def list_for_patient(self, patient_id: str) -> builtins.list[ClinicalEntry]:
        """The patient's entries in the order they were recorded (``recorded_at``, then id)."""
        ...

    def list_of_kind(self, kind: ClinicalEntryKind) -> builtins.list[ClinicalEntry]:
        """Every patient's entries of one kind, in recording order (indexed, migration 0011)."""
        ...


class DosePreparationRepository(Repository[DosePreparation], Protocol):
    """The pharmacy's verifications and bag preparations (``pharmacy_records``).

    ``add`` refuses an existing id (``DuplicateRecord``) and an unknown appointment or patient
    (``RecordNotFound``, naming the field); ``update`` refuses a missing id.
    """

    def list_for_appointment(self, appointment_id: str) -> builtins.list[DosePreparation]:
        """The appointment's rows, oldest decision first (then id)."""
        ...


class WorklistActionRepository(Protocol):
    """Decisions on worklist items (``worklist_records``): append-only, like clinical entries.

    ``add`` refuses an existing id (``DuplicateRecord``) and an unknown patient
    (``RecordNotFound``, field ``patient_id``).
    """

    def add(self, action: WorklistAction) -> None: ...

    def list(self) -> builtins.list[WorklistAction]:
        """Every decision, in the order recorded (``recorded_at``, then id)."""
        ...

    def list_for_patient(self, patient_id: str) -> builtins.list[WorklistAction]:
        """The patient's decisions, in the order recorded."""
        ...


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None: ...

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
        """The newest ``limit`` entries that match every filter given, oldest first.

        ``until`` is exclusive; ``action`` matches a verb or the verbs it starts
        (``is_action``); ``resource_ids`` keeps entries about one of those records. The store
        filters and cuts (indexed: migration 0013), so a search reads only what it returns.
        """
        ...


def is_action(verb: str, wanted: str) -> bool:
    """Whether ``verb`` is ``wanted`` or one of its kind (``order`` finds ``order.sign``).

    >>> [is_action(v, "order") for v in ("order.sign", "order", "orders.x", "patient.read")]
    [True, True, False, False]
    """
    return verb == wanted or verb.startswith(wanted.rstrip(".") + ".")


class SessionSummaryRepository(Protocol):
    """The board's projection of session streams, one row per session (``SessionSummary``).

    ``add`` registers a new, empty session (``DuplicateRecord`` if it exists); ``save`` writes
    the summary of a stream in the transaction that appended its events (insert or replace).
    ``get`` and ``get_many`` return the folded state (``SessionSummary.state``); the listings
    leave it out (``state=None``), so a listing of many sessions decodes none.
    """

    def add(self, summary: SessionSummary) -> None: ...

    def get(self, session_id: str) -> SessionSummary: ...

    def save(self, summary: SessionSummary) -> None: ...

    def save_many(self, summaries: Sequence[SessionSummary]) -> None:
        """``save`` of each (a later one of a session wins), in one batch statement where
        the store can (group commit: one per batch, not one per message)."""
        ...

    def list(self, *, status: str | None = None) -> builtins.list[SessionSummary]:
        """Summaries ordered by session id, optionally only those with ``status``."""
        ...

    def list_for_patient(self, patient_id: str) -> builtins.list[SessionSummary]:
        """The patient's sessions (checked in for them), ordered by session id."""
        ...

    def get_many(self, session_ids: Collection[str]) -> dict[str, SessionSummary]:
        """The summaries of these sessions, by session id, in one query (unknown ids left out)."""
        ...

    def list_for_patients(self, patient_ids: Collection[str]) -> builtins.list[SessionSummary]:
        """The sessions of any of these patients, ordered by session id, in one query."""
        ...

    def get_patients_of(self, session_ids: Collection[str]) -> dict[str, SessionPatient]:
        """Each session's status, patient id and that patient's identifiers, by session id,
        in one query (the patient's row joined; unknown sessions left out)."""
        ...


@runtime_checkable
class ReadOnlyUnits(Protocol):
    """A unit-of-work factory that also makes units for reads alone: on SQLite they do not
    take the write lock (``BEGIN DEFERRED``), so authentication never queues behind writers."""

    def __call__(self) -> UnitOfWork: ...

    def read_only(self) -> UnitOfWork: ...


def read_only_unit(factory: Callable[[], UnitOfWork]) -> UnitOfWork:
    """A unit for reads alone from ``factory`` if it has them, else an ordinary one."""
    return factory.read_only() if isinstance(factory, ReadOnlyUnits) else factory()


@runtime_checkable
class Savepoints(Protocol):
    """A unit of work that can roll back part of its transaction (group commit of device
    messages: one message's failure must not undo the others)."""

    def savepoint(self) -> AbstractContextManager[object]:
        """A block whose writes are undone if it raises; the transaction goes on."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository: ``with uow: ...; uow.commit()``.

    Leaving the block without ``commit`` rolls back. An event is acknowledged to a caller only
    after the commit that stored it returned (ARCHITECTURE decision 6).
    """

    # Read-only properties, so that an implementation may hold narrower types (a fake's
    # InMemoryRepository) in plain attributes.
    @property
    def patients(self) -> PatientRepository: ...

    @property
    def chairs(self) -> Repository[Chair]: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def appointments(self) -> AppointmentRepository: ...

    @property
    def clinical_entries(self) -> ClinicalEntryRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def browser_sessions(self) -> BrowserSessionRepository: ...

    @property
    def events(self) -> EventStore: ...

    @property
    def sessions(self) -> SessionSummaryRepository: ...

    @property
    def snapshots(self) -> SnapshotStore:
        """Stream snapshots, written in the transaction of the events they fold."""
        ...

    @property
    def device_messages(self) -> DeviceMessageRepository:
        """Accepted device messages by idempotency key (``add`` refuses a duplicate key)."""
        ...

    @property
    def quarantine(self) -> Repository[QuarantinedMessage]: ...

    @property
    def preparations(self) -> DosePreparationRepository:
        """The pharmacy's dose verifications and bag preparations."""
        ...

    @property
    def worklist_actions(self) -> WorklistActionRepository:
        """Assignments and documented resolutions of worklist items."""
        ...

    @property
    def pump_associations(self) -> PumpAssociationRepository:
        """Which pump (by serial number) serves which chair."""
        ...

    @property
    def pump_orders(self) -> PumpOrderRepository:
        """The PCD-03 order outbox (``add`` refuses an order id twice), with its leases."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

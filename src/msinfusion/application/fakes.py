"""In-memory implementations of every port: for tests, docs, demos and the CLI.

``InMemoryDatabase`` is the shared state; each ``InMemoryUnitOfWork`` works on a private copy and
publishes it on ``commit`` under a lock, re-checking every event stream it appended to, so the
fake has the same transactional and concurrency behaviour as the SQL adapters.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from msinfusion.application.ports import StoredEvent
from msinfusion.application.records import (
    ApiToken,
    Appointment,
    AuditEntry,
    Chair,
    Patient,
    TherapyOrder,
    User,
)
from msinfusion.errors import ConcurrencyError, DuplicateRecord, RecordNotFound

R = TypeVar("R", Patient, Chair, TherapyOrder, Appointment, User, ApiToken)


@dataclass(slots=True)
class InMemoryDatabase:
    """Everything a centre stores, in dicts; shared by the units of work made from it."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    streams: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class InMemoryRepository(Generic[R]):
    def __init__(self, kind: str, rows: dict[str, R]) -> None:
        self._kind = kind
        self._rows: dict[str, R] = rows

    def add(self, record: R) -> None:
        if record.id in self._rows:
            raise DuplicateRecord(f"{self._kind} {record.id} already exists", field="id")
        self._rows[record.id] = record

    def get(self, record_id: str) -> R:
        try:
            return self._rows[record_id]
        except KeyError:
            raise RecordNotFound(f"no {self._kind} {record_id}", field="id") from None

    def update(self, record: R) -> None:
        self.get(record.id)
        self._rows[record.id] = record

    def list(self) -> builtins.list[R]:
        return sorted(self._rows.values(), key=lambda r: r.id)

    def _find(self, predicate: Callable[[R], bool], what: str, field_name: str) -> R:
        for record in self._rows.values():
            if predicate(record):
                return record
        raise RecordNotFound(f"no {self._kind} with that {what}", field=field_name)


class InMemoryUserRepository(InMemoryRepository[User]):
    def add(self, record: User) -> None:
        if any(u.username == record.username for u in self._rows.values()):
            raise DuplicateRecord(f"user name {record.username} is taken", field="username")
        super().add(record)

    def get_by_username(self, username: str) -> User:
        return self._find(lambda u: u.username == username, "user name", "username")


class InMemoryTokenRepository(InMemoryRepository[ApiToken]):
    def get_by_hash(self, token_hash: str) -> ApiToken:
        return self._find(lambda t: t.token_hash == token_hash, "token", "token")


class InMemoryAppointmentRepository(InMemoryRepository[Appointment]):
    def list_between(self, start: datetime, end: datetime) -> builtins.list[Appointment]:
        return sorted(
            (a for a in self._rows.values() if start <= a.starts_at < end),
            key=lambda a: (a.starts_at, a.id),
        )


class InMemoryEventStore:
    def __init__(self, streams: dict[str, list[dict[str, Any]]]) -> None:
        self._streams = streams
        self.appended_from: dict[str, int] = {}

    def append(
        self, stream_id: str, events: Sequence[StoredEvent], *, expected_version: int
    ) -> int:
        stream = self._streams.setdefault(stream_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(
                session_id=stream_id, expected=expected_version, actual=len(stream)
            )
        self.appended_from.setdefault(stream_id, expected_version)
        stream.extend(dict(e) for e in events)
        return len(stream)

    def read(self, stream_id: str, *, after_version: int = 0) -> builtins.list[dict[str, Any]]:
        return [dict(e) for e in self._streams.get(stream_id, [])[after_version:]]

    def version(self, stream_id: str) -> int:
        return len(self._streams.get(stream_id, []))

    def list_streams(self) -> builtins.list[str]:
        return sorted(self._streams)


class InMemoryAuditLog:
    def __init__(self, entries: list[AuditEntry]) -> None:
        self._entries = entries

    def record(self, entry: AuditEntry) -> None:
        self._entries.append(entry)

    def list(
        self,
        *,
        user_id: str | None = None,
        resource_type: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> builtins.list[AuditEntry]:
        found = [
            e
            for e in self._entries
            if (user_id is None or e.user_id == user_id)
            and (resource_type is None or e.resource_type == resource_type)
            and (since is None or e.at >= since)
        ]
        return found[-limit:]


_TABLES = ("patients", "chairs", "orders", "appointments", "users", "tokens")


class InMemoryUnitOfWork:
    """A transaction over an ``InMemoryDatabase``; see the module docstring."""

    def __init__(self, database: InMemoryDatabase | None = None) -> None:
        self.database = database or InMemoryDatabase()
        self._begin()

    def _begin(self) -> None:
        db = self.database
        with db.lock:
            self._tables = {name: dict(db.tables.get(name, {})) for name in _TABLES}
            self._streams = {sid: list(events) for sid, events in db.streams.items()}
            self._audit: list[AuditEntry] = []
        self.patients = InMemoryRepository[Patient]("patient", self._tables["patients"])
        self.chairs = InMemoryRepository[Chair]("chair", self._tables["chairs"])
        self.orders = InMemoryRepository[TherapyOrder]("order", self._tables["orders"])
        self.appointments = InMemoryAppointmentRepository(
            "appointment", self._tables["appointments"]
        )
        self.users = InMemoryUserRepository("user", self._tables["users"])
        self.tokens = InMemoryTokenRepository("token", self._tables["tokens"])
        self.events = InMemoryEventStore(self._streams)
        self.audit = InMemoryAuditLog(self._audit)

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

    def commit(self) -> None:
        db = self.database
        with db.lock:
            for stream_id, expected in self.events.appended_from.items():
                actual = len(db.streams.get(stream_id, []))
                if actual != expected:
                    raise ConcurrencyError(session_id=stream_id, expected=expected, actual=actual)
            db.tables = {name: dict(rows) for name, rows in self._tables.items()}
            db.streams = {sid: list(events) for sid, events in self._streams.items()}
            db.audit.extend(self._audit)
        self._begin()

    def rollback(self) -> None:
        self._begin()

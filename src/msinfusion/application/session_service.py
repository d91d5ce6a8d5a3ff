"""The infusion-session use cases over a unit of work: create, handle a command, read state.

Events are stored through ``UnitOfWork.events`` in their stored form (``session.codec``). The
service keeps, per stream it has touched, the decoded events and the folded state, and reads
only the events appended since (by another worker or process): handling a command costs
O(new events), not O(stream length). ``handle`` returns only after the commit that stored its
events (ARCHITECTURE decision 6); the board's summary (``uow.sessions``) is written in that same
transaction. Without a unit-of-work factory the service runs on a private in-memory database
(``application.fakes``), as the CLI and the unit tests do; ``bootstrap.py`` gives it SQL.

Optimistic concurrency: ``handle(..., expected_version=n)`` refuses with ``ConcurrencyError``
unless the stream has exactly ``n`` events, so two nurses cannot both act on a stale screen.
Without ``expected_version`` a command that lost a race is decided again on the new state.

``handle(..., before_commit=hook)`` calls ``hook(uow)`` inside the transaction that appends the
command's events, just before its commit (also when the command produces no event): the
application layer records the command's audit entry there, so a stored command always has its
audit entry and a failed commit stores neither.
"""

from __future__ import annotations

import functools
import itertools
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import SessionSummary
from msinfusion.application.session_summary import summarise
from msinfusion.catalog.model import Protocol
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import (
    CommandRefused,
    ConcurrencyError,
    DuplicateRecord,
    ProtocolNotFound,
    RecordNotFound,
    SessionNotFound,
)
from msinfusion.session.codec import event_from_dict, event_to_dict
from msinfusion.session.commands import CheckIn, Command
from msinfusion.session.decide import decide
from msinfusion.session.events import Event, SessionCheckedIn
from msinfusion.session.evolve import evolve, replay
from msinfusion.session.queries import SessionView, state_at, view_at
from msinfusion.session.state import SessionState, Status

ProtocolLookup = Callable[[str], Protocol]
UnitOfWorkFactory = Callable[[], UnitOfWork]
BeforeCommit = Callable[[UnitOfWork], None]

RETRIES_WITHOUT_EXPECTED_VERSION = 5
"""How often a command without ``expected_version`` is decided again after losing a race."""


def _shipped_lookup(protocol_id: str) -> Protocol:
    return shipped_catalog().get_protocol(protocol_id)


def _random_session_id() -> str:
    return f"session-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class _Stream:
    """A stream as this service last saw it: immutable, replaced whole."""

    events: tuple[Event, ...] = ()
    state: SessionState = field(default_factory=SessionState)
    protocol: Protocol | None = None

    @property
    def version(self) -> int:
        return len(self.events)


class SessionService:
    """Session use cases; ``get_protocol`` defaults to the shipped catalog, storage to memory."""

    def __init__(
        self,
        get_protocol: ProtocolLookup | None = None,
        *,
        unit_of_work: UnitOfWorkFactory | None = None,
        new_session_id: Callable[[], str] | None = None,
    ) -> None:
        self._get_protocol = get_protocol or _shipped_lookup
        if unit_of_work is None:
            unit_of_work = functools.partial(InMemoryUnitOfWork, InMemoryDatabase())
            if new_session_id is None:
                counter = itertools.count(1)
                new_session_id = lambda: f"session-{next(counter)}"  # noqa: E731
        self._unit_of_work = unit_of_work
        self._new_session_id = new_session_id or _random_session_id
        self._cache: dict[str, _Stream] = {}
        self._lock = threading.Lock()

    def create_session(self, session_id: str | None = None) -> str:
        """Open an empty stream; its first command must be ``CheckIn``."""
        new_id = session_id or self._new_session_id()
        with self._unit_of_work() as uow:
            actual = uow.events.version(new_id)
            try:
                uow.sessions.get(new_id)
            except RecordNotFound:
                pass
            else:
                raise ConcurrencyError(session_id=new_id, expected=0, actual=actual)
            try:
                uow.sessions.add(SessionSummary(session_id=new_id, version=actual))
                uow.commit()
            except DuplicateRecord:
                raise ConcurrencyError(session_id=new_id, expected=0, actual=actual) from None
        return new_id

    def handle(
        self,
        session_id: str,
        command: Command,
        expected_version: int | None = None,
        *,
        before_commit: BeforeCommit | None = None,
    ) -> tuple[Event, ...]:
        """Decide ``command``, store its events, commit, return them. Refusals store nothing.

        ``before_commit(uow)`` runs in the same transaction, right before its commit (see the
        module docstring); if it raises, nothing is stored.
        """
        for attempt in itertools.count(1):
            try:
                return self._handle_once(session_id, command, expected_version, before_commit)
            except ConcurrencyError:
                if expected_version is not None or attempt >= RETRIES_WITHOUT_EXPECTED_VERSION:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _handle_once(
        self,
        session_id: str,
        command: Command,
        expected_version: int | None,
        before_commit: BeforeCommit | None,
    ) -> tuple[Event, ...]:
        with self._unit_of_work() as uow:
            stream = self._refresh(uow, session_id)
            if expected_version is not None and expected_version != stream.version:
                raise ConcurrencyError(
                    session_id=session_id, expected=expected_version, actual=stream.version
                )
            protocol = self._protocol_for(stream, command)
            new_events = decide(stream.state, command, protocol)
            if not new_events:
                if before_commit is not None:
                    before_commit(uow)
                    uow.commit()
                return new_events
            state = stream.state
            for event in new_events:
                state = evolve(state, event)
            try:
                uow.events.append(
                    session_id,
                    [event_to_dict(event) for event in new_events],
                    expected_version=stream.version,
                )
                uow.sessions.save(summarise(session_id, state, protocol))
                if before_commit is not None:
                    before_commit(uow)
                uow.commit()
            except ConcurrencyError:
                self._forget(session_id)
                raise
        self._remember(session_id, _Stream(stream.events + new_events, state, protocol))
        return new_events

    def get_version(self, session_id: str) -> int:
        return self._read(session_id).version

    def list_events(self, session_id: str) -> tuple[Event, ...]:
        return self._read(session_id).events

    def get_state(self, session_id: str, at: datetime | None = None) -> SessionState:
        """The folded state, integrated to ``at`` when given."""
        stream = self._read(session_id)
        return stream.state if at is None else state_at(stream.events, at)

    def get_view(
        self, session_id: str, at: datetime | None = None, *, display_tz: tzinfo = UTC
    ) -> SessionView:
        stream = self._read(session_id)
        return view_at(stream.events, stream.protocol, at, display_tz=display_tz)

    def load_session(self, session_id: str, events: list[Event], protocol: Protocol) -> None:
        """Adopt an existing stream: stored if the store has none, else it must be the same."""
        adopted = _Stream(tuple(events), replay(events), protocol)
        with self._unit_of_work() as uow:
            stored = [event_from_dict(e) for e in uow.events.read(session_id)]
            if stored and stored != list(events):
                raise ConcurrencyError(session_id=session_id, expected=0, actual=len(stored))
            if not stored:
                uow.events.append(
                    session_id, [event_to_dict(e) for e in events], expected_version=0
                )
                uow.sessions.save(summarise(session_id, adopted.state, protocol))
                uow.commit()
        self._remember(session_id, adopted)

    def _read(self, session_id: str) -> _Stream:
        with self._unit_of_work() as uow:
            return self._refresh(uow, session_id)

    def _refresh(self, uow: UnitOfWork, session_id: str) -> _Stream:
        """The stream with every stored event, reading only those the cache lacks."""
        with self._lock:
            cached = self._cache.get(session_id)
        base = cached or _Stream()
        stored = uow.events.read(session_id, after_version=base.version)
        if not stored:
            if cached is None:
                self._require_session(uow, session_id)
            return base
        new_events = tuple(event_from_dict(e) for e in stored)
        state = base.state
        for event in new_events:
            state = evolve(state, event)
        protocol = base.protocol or self._protocol_of(new_events)
        stream = _Stream(base.events + new_events, state, protocol)
        self._remember(session_id, stream)
        return stream

    @staticmethod
    def _require_session(uow: UnitOfWork, session_id: str) -> None:
        try:
            uow.sessions.get(session_id)
        except RecordNotFound:
            raise SessionNotFound(f"no session {session_id}", field="session_id") from None

    def _protocol_of(self, events: Sequence[Event]) -> Protocol | None:
        """The protocol named by the stream's check-in (None if unknown to this catalog)."""
        for event in events:
            if isinstance(event, SessionCheckedIn):
                try:
                    return self._get_protocol(event.protocol_id)
                except ProtocolNotFound:
                    return None
        return None

    def _protocol_for(self, stream: _Stream, command: Command) -> Protocol:
        if stream.protocol is not None:
            return stream.protocol
        if stream.state.status is not Status.NEW:
            raise CommandRefused(
                "protocol-unknown", f"protocol {stream.state.protocol_id} is not in the catalog"
            )
        if not isinstance(command, CheckIn):
            raise CommandRefused("not-checked-in", "the patient must be checked in first")
        try:
            return self._get_protocol(command.protocol_id)
        except ProtocolNotFound as error:
            raise CommandRefused("protocol-unknown", error.message) from error

    def _remember(self, session_id: str, stream: _Stream) -> None:
        with self._lock:
            current = self._cache.get(session_id)
            if current is None or current.version < stream.version:
                self._cache[session_id] = stream

    def _forget(self, session_id: str) -> None:
        with self._lock:
            self._cache.pop(session_id, None)

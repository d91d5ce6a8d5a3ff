"""The infusion-session use cases, in memory: create, handle a command, read state and events.

Storage and web adapters reuse this class unchanged by giving it another event store later; for
now streams live in a dict. Each stream keeps its folded state so that handling a command is
O(1) in the stream length (decide against the cached state, then evolve by the new events).

Optimistic concurrency: ``handle(..., expected_version=n)`` refuses with ``ConcurrencyError``
unless the stream has exactly ``n`` events, so two nurses cannot both act on a stale screen.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from msinfusion.catalog.model import Protocol
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import CommandRefused, ConcurrencyError, ProtocolNotFound, SessionNotFound
from msinfusion.session.commands import CheckIn, Command
from msinfusion.session.decide import decide
from msinfusion.session.events import Event
from msinfusion.session.evolve import evolve, replay
from msinfusion.session.queries import SessionView, state_at, view_at
from msinfusion.session.state import SessionState

ProtocolLookup = Callable[[str], Protocol]


def _shipped_lookup(protocol_id: str) -> Protocol:
    return shipped_catalog().get_protocol(protocol_id)


@dataclass(slots=True)
class _Stream:
    events: list[Event] = field(default_factory=list)
    state: SessionState = field(default_factory=SessionState)
    protocol: Protocol | None = None


class SessionService:
    """In-memory session use cases; ``get_protocol`` defaults to the shipped catalog."""

    def __init__(self, get_protocol: ProtocolLookup | None = None) -> None:
        self._get_protocol = get_protocol or _shipped_lookup
        self._streams: dict[str, _Stream] = {}
        self._ids = itertools.count(1)

    def create_session(self, session_id: str | None = None) -> str:
        """Open an empty stream; its first command must be ``CheckIn``."""
        new_id = session_id or f"session-{next(self._ids)}"
        if new_id in self._streams:
            raise ConcurrencyError(
                session_id=new_id, expected=0, actual=len(self._streams[new_id].events)
            )
        self._streams[new_id] = _Stream()
        return new_id

    def _stream(self, session_id: str) -> _Stream:
        try:
            return self._streams[session_id]
        except KeyError:
            raise SessionNotFound(f"no session {session_id}", field="session_id") from None

    def _protocol_for(self, stream: _Stream, command: Command) -> Protocol:
        if stream.protocol is not None:
            return stream.protocol
        if not isinstance(command, CheckIn):
            raise CommandRefused("not-checked-in", "the patient must be checked in first")
        try:
            return self._get_protocol(command.protocol_id)
        except ProtocolNotFound as error:
            raise CommandRefused("protocol-unknown", error.message) from error

    def handle(
        self, session_id: str, command: Command, expected_version: int | None = None
    ) -> tuple[Event, ...]:
        """Decide ``command`` and append its events; returns them. Refusals append nothing."""
        stream = self._stream(session_id)
        if expected_version is not None and expected_version != len(stream.events):
            raise ConcurrencyError(
                session_id=session_id, expected=expected_version, actual=len(stream.events)
            )
        protocol = self._protocol_for(stream, command)
        new_events = decide(stream.state, command, protocol)
        state = stream.state
        for event in new_events:
            state = evolve(state, event)
        stream.events.extend(new_events)
        stream.state = state
        stream.protocol = protocol
        return new_events

    def get_version(self, session_id: str) -> int:
        return len(self._stream(session_id).events)

    def list_events(self, session_id: str) -> tuple[Event, ...]:
        return tuple(self._stream(session_id).events)

    def get_state(self, session_id: str, at: datetime | None = None) -> SessionState:
        """The folded state, integrated to ``at`` when given."""
        stream = self._stream(session_id)
        return stream.state if at is None else state_at(stream.events, at)

    def get_view(
        self, session_id: str, at: datetime | None = None, *, display_tz: tzinfo = UTC
    ) -> SessionView:
        stream = self._stream(session_id)
        return view_at(stream.events, stream.protocol, at, display_tz=display_tz)

    def load_session(self, session_id: str, events: list[Event], protocol: Protocol) -> None:
        """Adopt an existing stream (e.g. read from storage); replayed once."""
        self._streams[session_id] = _Stream(
            events=list(events), state=replay(events), protocol=protocol
        )

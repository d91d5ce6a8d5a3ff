"""Session streams over a unit of work: read, decide and append inside the caller's transaction.

``SessionStreams`` keeps, per stream it has touched, the decoded events, the folded state and the
protocol, and reads only the events appended since (by another worker or process): deciding a
command costs O(new events), not O(stream length). It never opens a transaction of its own for
a command: ``decide_in(uow, ...)`` decides and appends in the caller's unit of work, so the use
case that calls it adds its audit entry, device message or gate check to the same transaction
and commits once (ARCHITECTURE decision 5). Only ``remember`` after that commit updates the
cache; a rolled-back decision is never cached, nor is a read of a stream that the reader's own
transaction appended to (several decisions on one stream in one transaction).

The cache is validated against the stored stream on every read, in the reader's transaction
(several processes or servers may write): the read starts at the cached version's last event,
which must still be stored and equal to the cached one, else the stream is read again from the
start. The cache keeps ``max_streams`` streams, least recently used out first. Each cached
``Stream`` carries the memo its views are built from (``session_views``, ADR 0003).

Under the cache, the store keeps a snapshot of each long stream (``session.snapshot``, ADR
0005): a command whose events pass a multiple of ``SNAPSHOT_EVERY`` writes the folded chart in
its own transaction, and a stream not in the cache is read as that snapshot plus the events
after it, validated by the same last-event rule; a snapshot that is of another schema, cannot
be read or no longer matches falls back to a replay.

Optimistic concurrency: ``expected_version=n`` refuses with ``ConcurrencyError`` unless the stream
has exactly ``n`` events; the store's unique ``(stream, version)`` key catches a race between the
read and the append. ``in_transaction`` is the one retry loop: without an expected version a
command that lost a race is decided again on the new state.

Less work under the write lock: ``prepare`` charts a command on the cached stream before the
transaction (pure work: the chart, the events' stored form, the projected end, the board
summary); ``decide_in`` uses it only if the transaction's validated read returns that very
stream, else decides again. The decision is still the one on the stored stream (ADR 0002): a
pure function of the same stream, command and clock gives the same result.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from msinfusion.application.ports import StoredSnapshot, UnitOfWork
from msinfusion.application.records import SessionSummary
from msinfusion.application.session_summary import summarise_with_end
from msinfusion.application.session_views import ViewMemo
from msinfusion.catalog.model import Protocol
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import (
    CommandRefused,
    ConcurrencyError,
    InvalidEvent,
    MsinfusionError,
    ProtocolNotFound,
    RecordNotFound,
    SessionNotFound,
)
from msinfusion.session.chart import Chart, Entry, extend, record
from msinfusion.session.charting import (
    LATE_AFTER,
    ChartingPolicy,
    check_entry_time,
    premedication_lead,
)
from msinfusion.session.codec import event_from_dict, event_to_dict
from msinfusion.session.commands import CheckIn, Command
from msinfusion.session.events import Event, SessionCheckedIn
from msinfusion.session.interchange import command_from_dict, command_to_dict
from msinfusion.session.queries import projected_end
from msinfusion.session.snapshot import SNAPSHOT_SCHEMA, chart_from_dict, chart_to_dict
from msinfusion.session.state import SessionState, Status

log = logging.getLogger(__name__)

T = TypeVar("T")
UnitOfWorkFactory = Callable[[], UnitOfWork]

RETRIES_WITHOUT_EXPECTED_VERSION = 5
"""How often a command without ``expected_version`` is decided again after losing a race."""

MAX_CACHED_STREAMS = 2_048
"""Streams a process keeps decoded and folded (a centre's day is a few dozen)."""

SNAPSHOT_EVERY = 100
"""A command whose events take the stream past a multiple of this stores a snapshot in its
transaction (ADR 0005): a cold read folds at most this many events after the snapshot, and a
snapshot's write (the whole chart) is paid once per this many events, not on every command."""


@dataclass(frozen=True, slots=True)
class Stream:
    """A stream as last seen: its chart (entries in recording and clinical order, the folded
    state) and protocol. Immutable, replaced whole."""

    chart: Chart = field(default_factory=Chart)
    protocol: Protocol | None = None
    memo: ViewMemo = field(default_factory=ViewMemo, compare=False, repr=False)
    """What views of this version are built from (``session_views``), filled on demand."""
    version: int = field(init=False, compare=False)
    """The number of stored events (``Chart.version``, counted once)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "version", self.chart.version)

    def followed_by(
        self,
        chart: Chart,
        protocol: Protocol | None,
        *,
        known_end: tuple[SessionState, datetime | None] | None = None,
    ) -> Stream:
        """The next version of this stream, its views seeded from this one's (and from
        ``known_end``: a state and its projected end, when the caller computed it already)."""
        return Stream(chart, protocol, self.memo.successor(known_end))

    @property
    def last_stored(self) -> Event | None:
        """The event stored last (at ``version``)."""
        return self.chart.entries[-1].stored[-1] if self.chart.entries else None

    @property
    def state(self) -> SessionState:
        return self.chart.state

    @property
    def events(self) -> tuple[Event, ...]:
        """The events as they hold, in clinical order (what views and integrals fold)."""
        return self.chart.events

    @property
    def stored_events(self) -> tuple[Event, ...]:
        """The events as stored, in recording order (what the stream's sequence numbers name)."""
        return self.chart.stored_events


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberedEvent:
    """An event with its 1-based ``sequence`` in the stream (``CorrectEntry`` targets it)."""

    sequence: int
    event: Event

    def to_json_dict(self, *, late_after: timedelta = LATE_AFTER) -> dict[str, object]:
        """The stored form with ``sequence`` first (``version`` is the event's schema version),
        both times (``occurred_at`` = ``at``, when it happened; ``recorded_at``, when it was
        stored) and ``late``: charted more than ``late_after`` after it happened."""
        stored = event_to_dict(self.event)
        recorded = self.event.recorded_at
        return {
            "sequence": self.sequence,
            **stored,
            "occurred_at": stored["at"],
            "recorded_at": stored["recorded_at"],
            "late": recorded is not None and recorded - self.event.at > late_after,
        }


def numbered(events: Sequence[Event], *, first: int = 1) -> tuple[NumberedEvent, ...]:
    return tuple(NumberedEvent(sequence=first + i, event=e) for i, e in enumerate(events))


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What one command did to a stream, in the transaction that appended it."""

    session_id: str
    before: Stream
    after: Stream
    new_events: tuple[Event, ...]
    command: Command
    """The command as charted (its ``recorded_at`` set, a fast clock brought back)."""

    @property
    def version(self) -> int:
        """The stream's version right after this command's events: never a later writer's."""
        return self.after.version

    @property
    def numbered_events(self) -> tuple[NumberedEvent, ...]:
        return numbered(self.new_events, first=self.before.version + 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartedCommand:
    """One command charted on one stream version, with what its transaction stores: the
    events as stored (the first with the command), and, if it added events, the projected
    end and the board summary (``SessionStreams.prepare``, ``decide_in``)."""

    stream: Stream
    command: Command
    """The command as given; ``charted`` is it as charted."""
    recorded_at: datetime
    from_device: bool
    protocol: Protocol
    charted: Command
    chart: Chart
    new_events: tuple[Event, ...]
    stored: tuple[dict[str, Any], ...]
    end: datetime | None
    summary: SessionSummary | None

    def is_for(
        self, stream: Stream, command: Command, recorded_at: datetime, from_device: bool
    ) -> bool:
        """Whether this is the charting of ``command`` on ``stream`` itself (not an equal one:
        the transaction's validated read returns the cached object) at ``recorded_at``."""
        return (
            self.stream is stream
            and self.command is command
            and self.recorded_at == recorded_at
            and self.from_device is from_device
        )


def in_transaction(
    factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], T], *, retry: bool
) -> T:
    """``work(uow)`` then commit; with ``retry``, again on a lost race (bounded). The one loop."""
    for attempt in itertools.count(1):
        try:
            with factory() as uow:
                result = work(uow)
                uow.commit()
                return result
        except ConcurrencyError:
            if not retry or attempt >= RETRIES_WITHOUT_EXPECTED_VERSION:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class SessionStreams:
    """Decoded, folded streams, cached; every operation runs in the caller's unit of work."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        policy: ChartingPolicy | None = None,
        max_streams: int = MAX_CACHED_STREAMS,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        self._catalog = catalog
        self._policy = policy or ChartingPolicy()
        self._max_streams = max_streams
        self._snapshot_every = snapshot_every
        self._cache: OrderedDict[str, Stream] = OrderedDict()
        self._written: weakref.WeakKeyDictionary[UnitOfWork, set[str]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def policy(self) -> ChartingPolicy:
        return self._policy

    def read_in(self, uow: UnitOfWork, session_id: str) -> Stream:
        """The stream with every stored event, reading only those the cache lacks.

        A cached stream is used only if its last event is still the stored one at its
        version (one query either way); without one, the stored snapshot is used by the same
        rule (one query more), else the stream is read from the start. A stream this
        transaction appended to is not cached."""
        with self._lock:
            cached = self._cache.get(session_id)
            if cached is not None:
                self._cache.move_to_end(session_id)
        base, stored = (None, []) if cached is None else self._tail_after(uow, session_id, cached)
        if cached is not None and base is None:
            self.forget(session_id)  # the store no longer holds what was cached
        if base is None:
            base, stored = self._from_snapshot(uow, session_id)
        if base is None:
            stored = uow.events.read(session_id)
            if not stored:
                _require_session(uow, session_id)
                return Stream()
            base = Stream()
        try:
            base = self._followed(base, stored)
        except InvalidEvent as error:
            if error.field != "snapshot":
                raise
            base = self._replay_in(uow, session_id, error)
        if base is not cached and not self._has_written(uow, session_id):
            self.remember(session_id, base)  # only committed rows are cached
        return base

    def _followed(self, base: Stream, stored: Sequence[Mapping[str, Any]]) -> Stream:
        """``base`` with the ``stored`` events after it folded in (``extend``)."""
        if not stored:
            return base
        entries = entries_of(stored, first_sequence=base.version + 1)
        protocol = base.protocol or self._protocol_of(
            tuple(e for entry in entries for e in entry.stored)
        )
        return base.followed_by(extend(base.chart, entries, protocol), protocol)

    def _replay_in(self, uow: UnitOfWork, session_id: str, error: InvalidEvent) -> Stream:
        """The stream replayed from its stored events, when a chart read from a snapshot held
        a command that cannot be decoded (``LazyCommand``: found only when a fold needs it)."""
        log.warning("session %s: %s; replaying the stream", session_id, error.message)
        self.forget(session_id)
        return self._followed(Stream(), uow.events.read(session_id))

    @staticmethod
    def _tail_after(
        uow: UnitOfWork, session_id: str, stream: Stream
    ) -> tuple[Stream | None, list[dict[str, Any]]]:
        """``stream`` and the events stored after it, if its last event is still the stored
        one at its version; else ``(None, [])``."""
        stored = uow.events.read(session_id, after_version=stream.version - 1)
        if not stored or event_from_dict(dict(stored[0])) != stream.last_stored:
            return None, []
        return stream, stored[1:]

    def _from_snapshot(
        self, uow: UnitOfWork, session_id: str
    ) -> tuple[Stream | None, list[dict[str, Any]]]:
        """The stored snapshot as a stream and the events after it, validated as the cache
        is; ``(None, [])`` when there is none, or it is of another schema, unreadable or no
        longer matches the stored events (then the caller replays)."""
        found = uow.snapshots.get(session_id)
        if found is None or found.schema_version != SNAPSHOT_SCHEMA or found.version < 1:
            return None, []
        try:
            chart = chart_from_dict(found.payload)
        except InvalidEvent as error:
            log.warning("session snapshot %s not read, replaying: %s", session_id, error.message)
            return None, []
        if chart.version != found.version:
            return None, []
        protocol = self._protocol_of(e for entry in chart.entries[:2] for e in entry.stored)
        return self._tail_after(uow, session_id, Stream(chart, protocol))

    def prepare(
        self, session_id: str, command: Command, *, recorded_at: datetime, from_device: bool = False
    ) -> ChartedCommand | None:
        """``command`` charted on the cached stream, outside any transaction, for ``decide_in``
        to use if its read returns that stream (module docstring); None without a cached
        stream or when charting refuses (the transaction decides, and refuses, again)."""
        with self._lock:
            stream = self._cache.get(session_id)
        if stream is None:
            return None
        try:
            return self._chart_on(
                session_id, stream, command, recorded_at=recorded_at, from_device=from_device
            )
        except MsinfusionError:
            return None

    def decide_in(
        self,
        uow: UnitOfWork,
        session_id: str,
        command: Command,
        expected_version: int | None,
        *,
        recorded_at: datetime,
        from_device: bool = False,
        summaries: dict[str, SessionSummary] | None = None,
        prepared: ChartedCommand | None = None,
    ) -> Decision:
        """Chart ``command`` as recorded at ``recorded_at`` (the caller's clock, never the
        client's): check its time (``session.charting``), decide it in clinical order
        (``session.chart``), and append its events, the command and the board summary in
        ``uow``. Refusals raise and append nothing. The caller commits, then ``remember``.
        ``summaries``: the board summary goes there instead, for the caller to save before
        its commit (a group-commit batch: ``SessionSummaryRepository.save_many``).
        ``prepared``: ``prepare``'s charting, used only if it is of the stream read here.
        """
        stream = self.read_in(uow, session_id)
        if expected_version is not None and expected_version != stream.version:
            raise ConcurrencyError(
                session_id=session_id, expected=expected_version, actual=stream.version
            )
        charted = prepared
        if charted is None or not charted.is_for(stream, command, recorded_at, from_device):
            try:
                charted = self._chart_on(
                    session_id, stream, command, recorded_at=recorded_at, from_device=from_device
                )
            except InvalidEvent as error:  # a snapshot's command that a refold needed: replay
                if error.field != "snapshot":
                    raise
                stream = self._replay_in(uow, session_id, error)
                charted = self._chart_on(
                    session_id, stream, command, recorded_at=recorded_at, from_device=from_device
                )
        chart, known_end = charted.chart, None
        if charted.new_events and charted.summary is not None:
            self._mark_written(uow, session_id)
            try:
                uow.events.append(session_id, charted.stored, expected_version=stream.version)
            except ConcurrencyError:
                self.forget(session_id)
                raise
            known_end = (chart.state, charted.end)
            if summaries is None:
                uow.sessions.save(charted.summary)
            else:
                summaries[session_id] = charted.summary
            if self._is_snapshot_due(stream.version, chart.version):
                uow.snapshots.put(_snapshot_of(session_id, chart))
        return Decision(
            session_id=session_id,
            before=stream,
            after=stream.followed_by(chart, charted.protocol, known_end=known_end),
            new_events=charted.new_events,
            command=charted.charted,
        )

    def _chart_on(
        self,
        session_id: str,
        stream: Stream,
        command: Command,
        *,
        recorded_at: datetime,
        from_device: bool,
    ) -> ChartedCommand:
        """``command`` charted on ``stream`` and what storing it needs (pure: nothing stored)."""
        protocol, charted, chart, new_events = self._charted(
            stream, command, recorded_at=recorded_at, from_device=from_device
        )
        stored: list[dict[str, Any]] = []
        end = summary = None
        if new_events:
            stored = [event_to_dict(event) for event in new_events]
            stored[0]["command"] = command_to_dict(charted)
            end = projected_end(chart.state, protocol)  # once, for the summary and the view
            summary = summarise_with_end(session_id, chart.state, protocol, end)
        return ChartedCommand(
            stream=stream,
            command=command,
            recorded_at=recorded_at,
            from_device=from_device,
            protocol=protocol,
            charted=charted,
            chart=chart,
            new_events=new_events,
            stored=tuple(stored),
            end=end,
            summary=summary,
        )

    def _charted(
        self, stream: Stream, command: Command, *, recorded_at: datetime, from_device: bool
    ) -> tuple[Protocol, Command, Chart, tuple[Event, ...]]:
        """``command`` timed and recorded on ``stream``'s chart (pure: nothing stored yet)."""
        protocol = self._protocol_for(stream, command)
        charted = check_entry_time(
            command,
            recorded_at=recorded_at,
            check_in_at=_check_in_at(stream.chart),
            lead_before_check_in=premedication_lead(protocol),
            policy=self._policy,
            require_late_reason=not from_device,
        )
        chart, new_events = record(stream.chart, charted, protocol)
        return protocol, charted, chart, new_events

    def prefetch_in(self, uow: UnitOfWork, session_ids: Iterable[str]) -> None:
        """Read the tails of these sessions' cached streams in one query (``EventStore.
        prefetch``), for their next ``read_in`` in ``uow`` (a group-commit batch)."""
        with self._lock:
            cached = [(i, self._cache.get(i)) for i in sorted(set(session_ids))]
        after = {i: stream.version - 1 for i, stream in cached if stream is not None}
        if after:
            uow.events.prefetch(after)

    def write_snapshot_in(self, uow: UnitOfWork, session_id: str) -> int:
        """Store a snapshot of the stream as it is now in ``uow`` (the caller commits); its
        version. For streams written without commands' snapshots (bulk loads, imports)."""
        stream = self.read_in(uow, session_id)
        uow.snapshots.put(_snapshot_of(session_id, stream.chart))
        return stream.version

    def _is_snapshot_due(self, before: int, after: int) -> bool:
        """Whether a command taking a stream from ``before`` to ``after`` events crosses a
        multiple of ``snapshot_every`` (0: never)."""
        every = self._snapshot_every
        return every > 0 and after // every > before // every

    def remember(self, session_id: str, stream: Stream | Decision) -> None:
        """Cache a committed stream (a newer cached one wins)."""
        value = stream.after if isinstance(stream, Decision) else stream
        with self._lock:
            current = self._cache.get(session_id)
            if current is None or current.version < value.version:
                self._cache[session_id] = value
            self._cache.move_to_end(session_id)
            while len(self._cache) > self._max_streams:
                self._cache.popitem(last=False)

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._cache.pop(session_id, None)

    def _mark_written(self, uow: UnitOfWork, session_id: str) -> None:
        # A unit of work without weak references is not marked: the read validation in
        # ``read_in`` still drops anything its rollback did not store.
        with self._lock, contextlib.suppress(TypeError):
            self._written.setdefault(uow, set()).add(session_id)

    def _has_written(self, uow: UnitOfWork, session_id: str) -> bool:
        with self._lock:
            return session_id in self._written.get(uow, ())

    def _protocol_of(self, events: Iterable[Event]) -> Protocol | None:
        """The protocol named by the stream's check-in (None if unknown to this catalog)."""
        for event in events:
            if isinstance(event, SessionCheckedIn):
                try:
                    return self._catalog.get_protocol(event.protocol_id)
                except ProtocolNotFound:
                    return None
        return None

    def _protocol_for(self, stream: Stream, command: Command) -> Protocol:
        if stream.protocol is not None:
            return stream.protocol
        if stream.state.status is not Status.NEW:
            raise CommandRefused(
                "protocol-unknown", f"protocol {stream.state.protocol_id} is not in the catalog"
            )
        if not isinstance(command, CheckIn):
            raise CommandRefused("not-checked-in", "the patient must be checked in first")
        try:
            return self._catalog.get_protocol(command.protocol_id)
        except ProtocolNotFound as error:
            raise CommandRefused("protocol-unknown", error.message) from error


def entries_of(stored: Sequence[Mapping[str, Any]], *, first_sequence: int) -> list[Entry]:
    """Stored events grouped into chart entries: an entry starts at an event carrying its
    command; an event stored before commands were kept is an entry of its own."""
    entries: list[Entry] = []
    for offset, payload in enumerate(stored):
        event = event_from_dict(dict(payload))
        raw = payload.get("command")
        if raw is not None or not entries or entries[-1].source is None:
            command = None if raw is None else command_from_dict(dict(raw))
            entries.append(Entry(sequence=first_sequence + offset, source=command, stored=(event,)))
        else:
            last = entries[-1]
            entries[-1] = replace(last, stored=(*last.stored, event))
    return entries


def _snapshot_of(session_id: str, chart: Chart) -> StoredSnapshot:
    return StoredSnapshot(
        stream_id=session_id,
        version=chart.version,
        schema_version=SNAPSHOT_SCHEMA,
        payload=chart_to_dict(chart),
    )


def _check_in_at(chart: Chart) -> datetime | None:
    return next((e.own_at for e in chart.entries if e.is_check_in), None)


def _require_session(uow: UnitOfWork, session_id: str) -> None:
    try:
        uow.sessions.get(session_id)
    except RecordNotFound:
        raise SessionNotFound(f"no session {session_id}", field="session_id") from None

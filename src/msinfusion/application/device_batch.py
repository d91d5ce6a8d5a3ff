"""What one group-commit transaction knows besides the database (``DeviceFeed.ingest_many``).

A batch reads the idempotency keys of all its messages in one query when it starts
(``DeviceMessageRepository.get_many``), checks every monitor's remembered session match in one
more (``SessionMatcher.check_remembered``; a reading without one is matched once,
``find_in(checked=...)``) and those sessions' stream tails in one more
(``SessionStreams.prefetch_in``). Without savepoints it holds its events' rows
(``EventStore.hold_appends``) and, just before its commit, inserts them in one statement, then
writes the board summaries of the sessions its accepted messages charted in one batch update
(``save_many``: each session's latest; nothing in a batch reads a summary after the match
check, and vital signs change no status) and their device-message rows in one multi-row
insert (``add_many``). A message
accepted earlier in the batch counts as stored for the ones after it (a retransmission inside
one batch is a duplicate, a reused control id a conflict). A batch first runs without a
savepoint per message — a refused decision writes nothing (``SessionStreams.decide_in``), so
only a failed write needs one (or a message of several readings refused after the first was
charted) — and, if a write fails, once more with them. The database's primary key still
decides: if another listener stored one of the keys meanwhile, ``add_many`` refuses the whole
insert and the caller ingests every message of the batch alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from msinfusion.application.device_matching import MatchKey, SessionMatcher
from msinfusion.application.device_records import DeviceMessage
from msinfusion.application.monitoring_ports import DeviceReading
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import SessionSummary
from msinfusion.application.session_streams import SessionStreams


@dataclass(slots=True)
class MessageWrites:
    """What one message of a batch leaves for the batch to write just before its commit: its
    device-message rows and the board summaries of its sessions (``decide_in(summaries=…)``)."""

    rows: list[DeviceMessage] = field(default_factory=list)
    summaries: dict[str, SessionSummary] = field(default_factory=dict)


@dataclass(slots=True)
class BatchRun:
    """One batch's known messages (stored or accepted in it), rows to write, checked matches."""

    known: dict[str, DeviceMessage]
    savepoints: bool = True
    """Whether each message runs in a savepoint (else a failed write fails the batch)."""
    rows: list[DeviceMessage] = field(default_factory=list)
    summaries: dict[str, SessionSummary] = field(default_factory=dict)
    """Each session's latest board summary in the batch."""
    checked: dict[MatchKey, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        uow: UnitOfWork,
        readings: Iterable[DeviceReading],
        matcher: SessionMatcher,
        streams: SessionStreams,
        *,
        savepoints: bool = True,
    ) -> BatchRun:
        """A batch in ``uow`` of the messages with ``readings``: their idempotency keys read
        in one query, ``matcher``'s remembered matches for them checked in one more, and the
        tails of those sessions' streams read in a third (``SessionStreams.prefetch_in``)."""
        readings = tuple(readings)
        run = cls(
            known=uow.device_messages.get_many({r.message_key for r in readings}),
            savepoints=savepoints,
        )
        matcher.check_remembered(uow, readings, run.checked)
        streams.prefetch_in(uow, run.checked.values())
        if not savepoints:
            uow.events.hold_appends()
        return run

    def stored(self, key: str) -> DeviceMessage | None:
        return self.known.get(key)

    def accept(self, writes: MessageWrites) -> None:
        """The writes of an accepted message (its savepoint, if any, released): made at the
        end of the batch; a later message's summary of a session replaces an earlier one's."""
        for row in writes.rows:
            self.known[row.id] = row
            self.rows.append(row)
        self.summaries.update(writes.summaries)

    def recheck(self, keys: Iterable[MatchKey]) -> bool:
        """Forget the batch's checks of these matches (a decision on one was refused: the
        message is matched afresh, the session may have been discharged); whether there were
        any."""
        dropped = [key for key in keys if self.checked.pop(key, None) is not None]
        return bool(dropped)

    def write(self, uow: UnitOfWork) -> None:
        """The accepted messages' summaries, in one batch update, and their rows, in one
        insert (``DuplicateRecord``: none stored)."""
        uow.events.flush()
        if self.summaries:
            uow.sessions.save_many(list(self.summaries.values()))
        if self.rows:
            uow.device_messages.add_many(self.rows)

"""What one group-commit transaction knows besides the database (``DeviceFeed.ingest_many``).

A batch reads the idempotency keys of all its messages in one query when it starts
(``DeviceMessageRepository.get_many``), checks each monitor's session match once
(``SessionMatcher.find_in(checked=...)``), and writes the device-message rows of the messages
it accepted in one multi-row insert just before its commit (``add_many``). A message accepted
earlier in the batch counts as stored for the ones after it (a retransmission inside one batch
is a duplicate, a reused control id a conflict). A batch first runs without a savepoint per
message — a refused decision writes nothing (``SessionStreams.decide_in``), so only a failed
write needs one — and, if a write fails, once more with them. The database's primary key
still decides:
if another listener stored one of the keys meanwhile, ``add_many`` refuses the whole insert
and the caller ingests every message of the batch alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from msinfusion.application.device_matching import MatchKey
from msinfusion.application.device_records import DeviceMessage
from msinfusion.application.ports import UnitOfWork


@dataclass(slots=True)
class BatchRun:
    """One batch's known messages (stored or accepted in it), rows to write, checked matches."""

    known: dict[str, DeviceMessage]
    savepoints: bool = True
    """Whether each message runs in a savepoint (else a failed write fails the batch)."""
    rows: list[DeviceMessage] = field(default_factory=list)
    checked: dict[MatchKey, str] = field(default_factory=dict)

    @classmethod
    def start(cls, uow: UnitOfWork, keys: Iterable[str], *, savepoints: bool = True) -> BatchRun:
        """A batch in ``uow`` whose messages have the idempotency keys ``keys``."""
        return cls(known=uow.device_messages.get_many(set(keys)), savepoints=savepoints)

    def stored(self, key: str) -> DeviceMessage | None:
        return self.known.get(key)

    def accept(self, rows: Iterable[DeviceMessage]) -> None:
        """Rows of a message whose savepoint was released: written at the end of the batch."""
        for row in rows:
            self.known[row.id] = row
            self.rows.append(row)

    def recheck(self, keys: Iterable[MatchKey]) -> bool:
        """Forget the batch's checks of these matches (a decision on one was refused: the
        message is matched afresh, the session may have been discharged); whether there were
        any."""
        dropped = [key for key in keys if self.checked.pop(key, None) is not None]
        return bool(dropped)

    def write(self, uow: UnitOfWork) -> None:
        """The accepted messages' rows, in one insert (``DuplicateRecord``: none stored)."""
        if self.rows:
            uow.device_messages.add_many(self.rows)

"""What the device feed stores: accepted device messages (for idempotency) and the quarantine.

``DeviceMessage.id`` is the message's idempotency key — ``hl7:<sender>:<MSH-10>`` for HL7,
``rest:<user>:<idempotency_key>`` for ``POST /api/observations``, with ``content_sha256`` the
hash of its text — and ``answer`` is exactly
what was sent back (the ACK, or the JSON body), so a duplicate gets the same answer and no
second record. A ``QuarantinedMessage`` keeps a message that could not be used, with the
reason, until an admin replays it: nothing a device sends is dropped.

Raw messages hold patient identifiers (PID): they are stored, never logged, never listed.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceMessage:
    id: str
    transport: str
    sender: str
    session_id: str
    received_at: datetime
    answer: str
    raw: str
    content_sha256: str | None = None
    """SHA-256 of the text (segment endings normalised): a retransmission has the same
    (migration 0012; None for a message stored before)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockSkew:
    """A sender's reading times against their receipt: ``ahead`` counts readings stamped after
    they arrived; the worst seen both ways, and the last, in seconds."""

    readings: int = 0
    ahead: int = 0
    max_ahead_s: float = 0.0
    max_behind_s: float = 0.0
    last_s: float = 0.0


class QuarantineStatus(enum.Enum):
    HELD = "held"
    REPLAYED = "replayed"


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedMessage:
    """A message kept for review: ``reason_code`` is stable (``malformed``, ``unsupported``,
    ``unknown-patient``, ``unmappable``, ``invalid-vital-signs``, ``refused:<rule>``),
    ``reason`` the one-sentence explanation (no identifiers)."""

    id: str
    transport: str
    received_at: datetime
    reason_code: str
    reason: str
    raw: str
    answer: str
    sender: str | None = None
    message_key: str | None = None
    status: QuarantineStatus = QuarantineStatus.HELD
    attempts: int = 1
    replayed_at: datetime | None = None
    replayed_by: str | None = None
    session_id: str | None = None


def storable(text: str) -> str:
    """``text`` as a database can hold it: a NUL (refused by PostgreSQL text) becomes U+FFFD."""
    return text.replace("\x00", "\ufffd")


def _normal(text: str) -> str:
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\x0b\x1c\r ")


def content_hash(text: str) -> str:
    r"""SHA-256 (hex) of a message's text, whatever its segment endings: with the sender and
    MSH-10 it tells a retransmission from a reused control id.

    >>> content_hash("MSH|^~\\&|A\r\n") == content_hash("MSH|^~\\&|A\r")
    True
    """
    return hashlib.sha256(_normal(text).encode("utf-8")).hexdigest()


def same_message(stored: DeviceMessage, text: str) -> bool:
    """A retransmission: the same text, whatever its segment endings (by the stored hash;
    a message stored before hashes were kept is compared by its text)."""
    if stored.content_sha256 is not None:
        return stored.content_sha256 == content_hash(text)
    return _normal(stored.raw) == _normal(text)

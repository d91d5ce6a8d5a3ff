"""What the pump interface stores: which pump serves which chair, and the order outbox.

A ``PumpAssociation`` ties a pump (its serial number, as the pump sends it in OBX-18 and as its
barcode reads) to a chair until it is ended. A ``PumpOrder`` is one infusion order for the pump
(IHE PIV PCD-03): it is stored as ``queued`` with its message text frozen, so that a resend after
a lost connection is the same message (same MSH-10 and ORC-2: the gateway can tell a resend from
a new order), and its status follows what the gateway and the pump answer. A dispatcher sends
an order only while it holds the order's lease (``claimed_by`` until ``claimed_until``), won by a
conditional update that one process alone can win (migration 0014).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction


class PumpOrderStatus(enum.Enum):
    QUEUED = "queued"
    """Stored, not yet accepted by the gateway (not sent, or the connection was lost)."""
    SENT = "sent"
    """The gateway accepted it: the pump is programmed and waits for the nurse to confirm."""
    CONFIRMED = "confirmed"
    """The pump reported that it runs the order (PCD-10 start at the ordered rate)."""
    REJECTED = "rejected"
    """Refused by the engine's limits before sending, or by the gateway or pump (reason)."""


TERMINAL = frozenset({PumpOrderStatus.CONFIRMED, PumpOrderStatus.REJECTED})
"""An order in one of these states is never changed by a later answer."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpAssociation:
    """Pump ``id`` (serial number) serves chair ``chair_id`` from ``associated_at``; ``method``
    is ``scan`` (the nurse scanned it at the chair) or ``serial`` (registered by its serial)."""

    id: str
    chair_id: str
    associated_at: datetime
    associated_by: str
    method: str = "scan"
    ended_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpOrder:
    """One PCD-03 order; ``id`` is ``<session>-<event sequence>`` (ORC-2, and MSH-10 with a
    prefix), so the event that caused it can never cause a second one."""

    id: str
    session_id: str
    event_sequence: int
    pump_id: str
    order_control: str
    """``RE`` a new bag (the start), ``XO`` a rate change on the running infusion (IHE PIV)."""
    rate_ml_per_h: Fraction
    volume_to_be_infused_ml: Fraction
    requested_at: datetime
    requested_by: str
    message: str
    status: PumpOrderStatus = PumpOrderStatus.QUEUED
    reason: str | None = None
    attempts: int = 0
    sent_at: datetime | None = None
    answered_at: datetime | None = None
    claimed_by: str | None = None
    """The dispatcher that holds the send lease (``PumpOrderRepository.claim``), if any."""
    claimed_until: datetime | None = None
    """When that lease ends: after it, another dispatcher may claim the order (a crashed
    sender's order is sent again, the same frozen message)."""

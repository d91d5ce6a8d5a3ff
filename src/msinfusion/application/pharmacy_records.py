"""The pharmacy's record of one dose: verified (or returned with a reason), prepared, checked.

One ``DosePreparation`` per pharmacist's decision on an appointment's dose. A returned dose
keeps its row (the reason stays on record); verifying it again after the prescriber changed the
order makes a new row, so the appointment's *current* preparation is its newest row
(``current_preparation``). The row's ``id`` is the bag's id: it is printed as the label's
barcode and scanned at the chair (``application/bag_check.py``).

Statuses, in order: ``verified`` (order, dose, protocol version, gates and labs checked) →
``prepared`` (product, lot, expiry, volume, diluent, time, by whom) → ``checked`` (a second
person, another user, confirmed the preparation). Only a ``checked`` bag may be started.
``returned`` ends a row at any step before the infusion starts.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

_NEVER = datetime.min.replace(tzinfo=UTC)


class PreparationStatus(enum.Enum):
    VERIFIED = "verified"
    RETURNED = "returned"
    PREPARED = "prepared"
    CHECKED = "checked"


@dataclass(frozen=True, slots=True, kw_only=True)
class DosePreparation:
    """A pharmacist's verification of an appointment's dose, and the bag prepared for it.

    User fields hold user ids (names are looked up for display); ``protocol_version`` is the
    catalog version the pharmacist verified against.
    """

    id: str
    appointment_id: str
    patient_id: str
    protocol_id: str
    protocol_version: str
    dose_number: int
    order_id: str | None
    status: PreparationStatus
    verified_by: str | None = None
    verified_at: datetime | None = None
    returned_by: str | None = None
    returned_at: datetime | None = None
    return_reason: str | None = None
    product: str | None = None
    lot: str | None = None
    expiry: date | None = None
    prepared_volume_ml: Decimal | None = None
    diluent: str | None = None
    prepared_at: datetime | None = None
    prepared_by: str | None = None
    checked_by: str | None = None
    checked_at: datetime | None = None

    @property
    def decided_at(self) -> datetime | None:
        """When the pharmacist verified or returned the dose (orders the rows)."""
        return self.verified_at or self.returned_at

    @property
    def is_released(self) -> bool:
        """Prepared and checked by a second person: the bag may be hung."""
        return self.status is PreparationStatus.CHECKED


def decision_order(row: DosePreparation) -> tuple[datetime, str]:
    """Sort key of an appointment's rows: decision time, then id (undecided rows first)."""
    return (row.decided_at or _NEVER, row.id)


def current_preparation(rows: Iterable[DosePreparation]) -> DosePreparation | None:
    """The appointment's newest row (by decision time, then id), or None.

    >>> at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    >>> row = DosePreparation(id="prep-1", appointment_id="a", patient_id="p",
    ...     protocol_id="x", protocol_version="1", dose_number=1, order_id=None,
    ...     status=PreparationStatus.RETURNED, returned_at=at)
    >>> later = DosePreparation(id="prep-0", appointment_id="a", patient_id="p",
    ...     protocol_id="x", protocol_version="1", dose_number=1, order_id=None,
    ...     status=PreparationStatus.VERIFIED, verified_at=at.replace(hour=9))
    >>> current_preparation([row, later]).id
    'prep-0'
    """
    found = list(rows)
    if not found:
        return None
    return max(found, key=decision_order)

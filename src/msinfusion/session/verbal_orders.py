"""Verbal orders: a physician's authorisation a nurse recorded, until that physician co-signs.

An entry carrying ``verbal_order_by`` (a start, resume or resolution the physician authorised
by voice) is pending until a ``VerbalOrderCosigned`` names its entry number. The chairside
screen lists the pending ones; only the named physician co-signs, once
(``application.chair_safety``).

>>> from datetime import UTC, datetime
>>> from fractions import Fraction
>>> from msinfusion.session import events as ev
>>> t = datetime(2026, 3, 2, 10, tzinfo=UTC)
>>> start = ev.InfusionStarted(at=t, user="n", rate_ml_per_h=Fraction(40), override_reason="x",
...     deviations=(), verbal_order_by="dr-b")
>>> [p.physician for p in pending_verbal_orders([(5, start)])]
['dr-b']
>>> pending_verbal_orders([(5, start), (6, ev.VerbalOrderCosigned(at=t, user="dr-b",
...     entry_sequence=5))])
()
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from msinfusion.session import events as ev


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingVerbalOrder:
    """Entry ``sequence`` (what: its event type) awaits ``physician``'s co-signature."""

    sequence: int
    physician: str
    kind: str
    at: datetime
    recorded_by: str
    reason: str | None

    def to_json_dict(self) -> dict[str, object]:
        return {
            "sequence": self.sequence,
            "physician": self.physician,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "recorded_by": self.recorded_by,
            "reason": self.reason,
        }


def verbal_order_of(event: ev.Event) -> str | None:
    """The physician a stored event's verbal order names, or None."""
    physician = getattr(event, "verbal_order_by", None)
    return physician if isinstance(physician, str) else None


def pending_verbal_orders(
    numbered: Iterable[tuple[int, ev.Event]],
) -> tuple[PendingVerbalOrder, ...]:
    """Every verbal order in ``(sequence, event)`` pairs not yet co-signed, in stream order."""
    pairs = list(numbered)
    signed = {e.entry_sequence for _, e in pairs if isinstance(e, ev.VerbalOrderCosigned)}
    found = []
    for sequence, event in sorted(pairs, key=lambda p: p[0]):
        physician = verbal_order_of(event)
        if physician is not None and sequence not in signed:
            found.append(
                PendingVerbalOrder(
                    sequence=sequence,
                    physician=physician,
                    kind=event.TYPE,
                    at=event.at,
                    recorded_by=event.user,
                    reason=getattr(event, "override_reason", None),
                )
            )
    return tuple(found)

"""What the centre did about a worklist item: assigned it to a person, or closed it with a reason.

Worklist items themselves are never stored: they are computed from each patient's calendar,
gates, monitoring slots and bookings (``worklist_items``). Only the people's decisions about
them are kept, append-only, one ``WorklistAction`` per decision (migration 0010). An item's
owner is the assignee of its newest assignment; an item closed by a documented reason stays
closed (recording the result closes a lab item by itself: the slot is then done).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


class WorklistActionKind(enum.Enum):
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorklistAction:
    """One decision on one patient's worklist item (``item_id`` is stable: ``worklist_items``).

    ``assignee`` is a user id (assignments); ``reason`` is the documented reason (resolutions,
    optional on assignments)."""

    id: str
    patient_id: str
    item_id: str
    kind: WorklistActionKind
    assignee: str | None
    reason: str | None
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemState:
    """What the stored decisions say about one item: its owner and whether it was resolved."""

    owner: str | None = None
    resolved: WorklistAction | None = None


def item_states(actions: Iterable[WorklistAction]) -> dict[tuple[str, str], ItemState]:
    """(patient id, item id) -> the item's state, the decisions folded in recording order.

    >>> from datetime import UTC
    >>> at = datetime(2026, 3, 2, tzinfo=UTC)
    >>> a = WorklistAction(id="w1", patient_id="p", item_id="i", kind=WorklistActionKind.ASSIGNED,
    ...     assignee="u1", reason=None, recorded_at=at, recorded_by="u0")
    >>> item_states([a])[("p", "i")].owner
    'u1'
    """
    states: dict[tuple[str, str], ItemState] = {}
    for action in sorted(actions, key=lambda a: (a.recorded_at, a.id)):
        key = (action.patient_id, action.item_id)
        state = states.get(key, ItemState())
        if action.kind is WorklistActionKind.ASSIGNED:
            state = ItemState(owner=action.assignee, resolved=state.resolved)
        else:
            state = ItemState(owner=state.owner, resolved=action)
        states[key] = state
    return states

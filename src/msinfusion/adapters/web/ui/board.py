"""The chair board's rows, shaped for the template from ``Centre.queries.get_board``.

Nothing is decided here: status, volumes, due actions, warnings and projected times all come
from the board query (the session engine's own view); this module only labels them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from msinfusion.adapters.web.ui import parse_time

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "booked": ("○", "Booked"),
    "new": ("○", "Opened"),
    "checked-in": ("◑", "Checked in"),
    "infusing": ("▶", "Infusing"),
    "paused": ("⏸", "Paused"),
    "observation": ("◷", "Observation"),
    "discharged": ("✓", "Discharged"),
    "in-progress": ("▶", "In progress"),
    "completed": ("✓", "Completed"),
    "cancelled": ("✕", "Cancelled"),
}
"""Status → (symbol, words): colour is never the only signal."""

DUE_LABELS = {
    "record-assessment": "Pre-infusion assessment",
    "give-premedication": "Give premedication",
    "start-infusion": "Start infusion",
    "change-rate": "Rate step",
    "end-of-reaction-hold": "End of reaction hold",
    "next-re-escalation": "Next re-escalation",
    "resolve-reaction": "Record reaction resolution",
    "resume-infusion": "Resume infusion",
    "stop-infusion": "Stop infusion",
    "complete-infusion": "Bag empty: complete",
    "record-vitals": "Vital signs",
    "discharge": "End of observation",
}


def status_label(status: str) -> tuple[str, str]:
    return STATUS_LABELS.get(status, ("•", status.replace("-", " ").capitalize()))


def due_label(action: str) -> str:
    return DUE_LABELS.get(action, action.replace("-", " ").capitalize())


@dataclass(frozen=True, slots=True, kw_only=True)
class DueItem:
    action: str
    label: str
    at: datetime | None
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardRow:
    appointment_id: str
    chair: str
    patient_id: str
    patient: str
    protocol_id: str
    dose_number: int
    starts_at: datetime
    ends_at: datetime
    status: str
    symbol: str
    status_text: str
    session_id: str | None
    rate_ml_per_h: float | None
    volume_ml: float | None
    bag_ml: float | None
    percent: int
    next_due: DueItem | None
    alerts: tuple[str, ...]
    worst_reaction: str | None
    release: datetime | None
    open_alerts: tuple[dict[str, Any], ...] = ()

    @property
    def has_alerts(self) -> bool:
        return bool(self.alerts or self.open_alerts) or self.worst_reaction is not None


def due_items(due: list[dict[str, Any]]) -> tuple[DueItem, ...]:
    return tuple(
        DueItem(
            action=d["action"],
            label=due_label(d["action"]),
            at=parse_time(d.get("at")),
            detail=d.get("detail") or "",
        )
        for d in due
    )


def board_row(row: dict[str, Any], open_alerts: tuple[dict[str, Any], ...] = ()) -> BoardRow:
    session = row.get("session")
    status = row["status"] if session is None else session["status"]
    symbol, text = status_label(status)
    volume = bag = rate = None
    percent = 0
    next_due = None
    alerts: tuple[str, ...] = ()
    worst = release = None
    if session is not None:
        volume = float(session["volume_infused_ml"])
        bag = volume + float(session["remaining_volume_ml"])
        rate = float(session["rate_ml_per_h"])
        percent = 0 if bag <= 0 else min(100, round(100 * volume / bag))
        items = due_items(session["due"])
        next_due = items[0] if items else None
        alerts = tuple(session["warnings"])
        worst = session.get("worst_reaction")
        release = parse_time(session.get("projected_chair_release"))
    starts_at = parse_time(row["starts_at"])
    ends_at = parse_time(row["ends_at"])
    assert starts_at is not None  # the board always gives both times
    assert ends_at is not None
    return BoardRow(
        appointment_id=row["appointment_id"],
        chair=row.get("chair_name") or row["chair_id"],
        patient_id=row["patient_id"],
        patient=row["patient_display_name"],
        protocol_id=row["protocol_id"],
        dose_number=row["dose_number"],
        starts_at=starts_at,
        ends_at=ends_at,
        status=status,
        symbol=symbol,
        status_text=text,
        session_id=row.get("session_id"),
        rate_ml_per_h=rate,
        volume_ml=volume,
        bag_ml=bag,
        percent=percent,
        next_due=next_due,
        alerts=alerts,
        worst_reaction=worst,
        release=release or ends_at,
        open_alerts=open_alerts,
    )


def board_rows(
    rows: list[dict[str, Any]], alerts: list[dict[str, Any]] | None = None
) -> list[BoardRow]:
    """Board rows in chair order, then start time, each with its session's open alerts
    (``Centre.alerts.list_open``: vital-sign and overdue alerts, highest priority first)."""
    by_session: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts or []:
        by_session.setdefault(str(alert.get("session_id")), []).append(alert)
    shaped = [board_row(r, tuple(by_session.get(str(r.get("session_id")), ()))) for r in rows]
    return sorted(shaped, key=lambda r: (r.chair, r.starts_at))

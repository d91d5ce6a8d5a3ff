"""The chair board's rows, labelled for the template from ``Centre.queries.get_board``.

Nothing is decided here: status, volumes, due actions, warnings and projected times all come
from the board query (the session engine's own view); this module only labels them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from msinfusion.application.board import BoardRow as QueryBoardRow
from msinfusion.session.alerting import alert_to_json
from msinfusion.session.due import DueAction
from msinfusion.session.state import RecordedAlert

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
    acknowledged_alerts: tuple[AcknowledgedAlert, ...] = ()
    """The session's acknowledged alerts, latest acknowledgement first (who and when)."""
    synthetic: bool = False
    """Demonstration data (only then is the patient tagged synthetic)."""
    contraindicated: tuple[str, ...] = ()
    """Therapies the patient's history contraindicates (check-in and start refuse them)."""

    @property
    def has_alerts(self) -> bool:
        return (
            bool(self.alerts or self.open_alerts or self.acknowledged_alerts)
            or self.worst_reaction is not None
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AcknowledgedAlert:
    """An alert a nurse acknowledged: what it said, who acknowledged it and when."""

    alert_id: str
    message: str
    acknowledged_by: str
    acknowledged_at: datetime


SHOWN_ACKNOWLEDGED = 3
"""The board shows the latest few acknowledgements of a session; the record keeps them all."""


def acknowledged_alerts(recorded: Sequence[RecordedAlert]) -> tuple[AcknowledgedAlert, ...]:
    done = []
    for r in recorded:
        if r.alert.acknowledged_at is not None:
            done.append(
                AcknowledgedAlert(
                    alert_id=r.alert_id,
                    message=r.alert.message,
                    acknowledged_by=r.alert.acknowledged_by or "",
                    acknowledged_at=r.alert.acknowledged_at,
                )
            )
    done.sort(key=lambda a: a.acknowledged_at, reverse=True)
    return tuple(done[:SHOWN_ACKNOWLEDGED])


def due_items(due: Sequence[DueAction]) -> tuple[DueItem, ...]:
    return tuple(
        DueItem(action=d.action, label=due_label(d.action), at=d.at, detail=d.detail or "")
        for d in due
    )


def board_row(row: QueryBoardRow, zone: tzinfo) -> BoardRow:
    """The template's row from the board query's typed row (labels only; nothing decided)."""
    a, view = row.appointment, row.session
    status = a.status.value if view is None else view.status
    symbol, text = status_label(status)
    volume = bag = rate = None
    percent = 0
    next_due = None
    warnings: tuple[str, ...] = ()
    worst = release = None
    open_alerts: tuple[dict[str, Any], ...] = ()
    acknowledged: tuple[AcknowledgedAlert, ...] = ()
    if view is not None:
        state = view.state
        volume = float(state.volume_ml)
        bag = volume + float(state.remaining_volume_ml)
        rate = float(state.rate_ml_per_h)
        percent = 0 if bag <= 0 else min(100, round(100 * volume / bag))
        items = due_items(view.due)
        next_due = items[0] if items else None
        warnings = view.warnings
        worst = state.worst_reaction
        release = view.projected_chair_release
        open_alerts = tuple(alert_to_json(x, display_tz=zone) for x in view.alerts)
        acknowledged = acknowledged_alerts(state.alerts)
    return BoardRow(
        appointment_id=a.id,
        chair=a.chair_id if row.chair is None else row.chair.name,
        patient_id=row.patient.id,
        patient=row.patient.display_name,
        protocol_id=a.protocol_id,
        dose_number=a.dose_number,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        status=status,
        symbol=symbol,
        status_text=text,
        session_id=a.session_id,
        rate_ml_per_h=rate,
        volume_ml=volume,
        bag_ml=bag,
        percent=percent,
        next_due=next_due,
        alerts=warnings,
        worst_reaction=worst,
        release=release or a.ends_at,
        open_alerts=open_alerts,
        acknowledged_alerts=acknowledged,
        contraindicated=row.patient.contraindicated_therapy_ids,
        synthetic=row.patient.synthetic,
    )


def board_rows(rows: Sequence[QueryBoardRow], zone: tzinfo) -> list[BoardRow]:
    """Board rows in chair order, then start time, each with its session's open alerts
    (vital-sign and overdue alerts, highest priority first), all from the one board read."""
    return sorted((board_row(r, zone) for r in rows), key=lambda r: (r.chair, r.starts_at))

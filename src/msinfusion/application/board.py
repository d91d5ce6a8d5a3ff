"""The day's board: each appointment with its patient, chair and live session view at now.

Read from projection rows in a fixed number of queries, whatever the number of rows: the
day's appointments, the chairs, the rows' patients, their session summaries and every session
of those patients (for the reaction history). A summary holds the session's folded state,
written in the transaction of its events (``SessionSummary.state``), so a row's live view —
volume advanced to now, due actions, warnings, escalated alerts, projected times — is computed
from the row alone (``session.queries.live_view_of_state``), never from the stream. A summary
without a state (written before migration 0017, or of another fold) has its stream read, as
before. ``tests/unit/application/test_board_rows.py`` holds the board from rows equal to the
board from full views (``view_at`` of a replay) at random times.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from msinfusion.application.ports import UnitOfWork
from msinfusion.application.reaction_history import history_of
from msinfusion.application.records import Appointment, Chair, Patient, SessionSummary
from msinfusion.application.session_streams import SessionStreams
from msinfusion.application.sessions import live_view
from msinfusion.catalog.model import Protocol
from msinfusion.errors import ProtocolNotFound
from msinfusion.session.queries import SessionView, live_view_of_state

_BOARD_SESSION_KEYS = (
    "status",
    "rate_ml_per_h",
    "volume_infused_ml",
    "remaining_volume_ml",
    "projected_infusion_end",
    "projected_chair_release",
    "worst_reaction",
    "warnings",
    "due",
    "alerts",
    "alerts_open",
    "events",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardRow:
    """One appointment of the day with its patient, chair and live session view (if opened)."""

    appointment: Appointment
    patient: Patient
    chair: Chair | None
    session: SessionView | None

    def to_json_dict(self, display_tz: tzinfo) -> dict[str, Any]:
        """The row of ``GET /api/board`` (keys documented in docs/api.md)."""
        a = self.appointment
        session = None
        if self.session is not None:
            data = self.session.to_json_dict()
            session = {key: data[key] for key in _BOARD_SESSION_KEYS}
        return {
            "appointment_id": a.id,
            "starts_at": a.starts_at.astimezone(display_tz).isoformat(),
            "ends_at": a.ends_at.astimezone(display_tz).isoformat(),
            "status": a.status.value,
            "chair_id": a.chair_id,
            "chair_name": None if self.chair is None else self.chair.name,
            "patient_id": self.patient.id,
            "patient_display_name": self.patient.display_name,
            "contraindicated_therapy_ids": list(self.patient.contraindicated_therapy_ids),
            "patient_synthetic": self.patient.synthetic,
            "protocol_id": a.protocol_id,
            "dose_number": a.dose_number,
            "session_id": a.session_id,
            "session": session,
        }


class _Protocols:
    """The catalog's protocols by id for one board read (None when unknown to the catalog)."""

    def __init__(self, streams: SessionStreams) -> None:
        self._streams = streams
        self._found: dict[str, Protocol | None] = {}

    def get(self, protocol_id: str) -> Protocol | None:
        if not protocol_id:
            return None
        if protocol_id not in self._found:
            try:
                self._found[protocol_id] = self._streams.catalog.get_protocol(protocol_id)
            except ProtocolNotFound:
                self._found[protocol_id] = None
        return self._found[protocol_id]


def view_from_summary(
    summary: SessionSummary, protocol: Protocol | None, now: datetime, display_tz: tzinfo
) -> SessionView | None:
    """The board's live view of a session from its summary row (None if it holds no state):
    ``live_view`` without the timeline, entries, segments or pending verbal orders."""
    if summary.state is None:
        return None
    return live_view_of_state(
        summary.state,
        protocol,
        now,
        summary.projected_infusion_end,
        events=summary.state.version,
        display_tz=display_tz,
    )


def _with_history(
    uow: UnitOfWork, streams: SessionStreams, patient: Patient, summaries: list[SessionSummary]
) -> Patient:
    history = history_of(uow, streams, patient, summaries)
    derived = tuple(sorted(t for t, h in history.items() if h.contraindicated))
    if derived == patient.contraindicated_therapy_ids:
        return patient
    return replace(patient, contraindicated_therapy_ids=derived)


def read_board(
    uow: UnitOfWork,
    streams: SessionStreams,
    appointments: list[Appointment],
    now: datetime,
    display_tz: tzinfo,
) -> list[BoardRow]:
    """Board rows of ``appointments`` (in their order) at ``now``, from projection rows."""
    chairs = {c.id: c for c in uow.chairs.list()}
    patient_ids = {a.patient_id for a in appointments}
    patients = uow.patients.get_many(patient_ids)
    session_ids = {a.session_id for a in appointments if a.session_id is not None}
    summaries = uow.sessions.get_many(session_ids)
    by_patient: dict[str, list[SessionSummary]] = defaultdict(list)
    for past in uow.sessions.list_for_patients(patient_ids):
        by_patient[str(past.patient_id)].append(past)
    protocols = _Protocols(streams)
    shown = {
        p: _with_history(uow, streams, patient, by_patient[p]) for p, patient in patients.items()
    }
    rows = []
    for a in appointments:
        view = None
        if a.session_id is not None:
            summary = summaries.get(a.session_id)
            if summary is not None and summary.state is not None:
                protocol = protocols.get(summary.state.protocol_id)
                view = view_from_summary(summary, protocol, now, display_tz)
            if view is None:
                view = live_view(streams.read_in(uow, a.session_id), now, display_tz)
        patient = shown.get(a.patient_id) or uow.patients.get(a.patient_id)
        rows.append(
            BoardRow(appointment=a, patient=patient, chair=chairs.get(a.chair_id), session=view)
        )
    return rows

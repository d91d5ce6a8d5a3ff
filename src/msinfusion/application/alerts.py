"""Alert use cases for screens: the open alerts of every session in progress, acknowledging.

Open alerts are read from each session's view at the request time, so escalation (an alert
left unacknowledged for ``session.alerting.ESCALATE_AFTER``) shows as it is *now*.
Acknowledging is the session command ``AcknowledgeAlert`` sent by the signed-in user
(``acknowledge_alert``: nurse, physician), audited like every command; its ``at`` is the request
time, or the session's last event when a device clock ran ahead of ours.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from msinfusion.application.audit import Actor, Gate, Subject
from msinfusion.application.monitoring import chairs_of_sessions, sessions_in_progress
from msinfusion.application.permissions import Action
from msinfusion.application.session_service import SessionService
from msinfusion.application.sessions import CommandResult, SessionUseCases, live_view
from msinfusion.errors import ConcurrencyError
from msinfusion.session.alerting import alert_to_json

ACKNOWLEDGE_ATTEMPTS = 3
"""A device may append vital signs between our read and our write: try again, at most this often."""


class AlertUseCases:
    def __init__(self, gate: Gate, service: SessionService, sessions: SessionUseCases) -> None:
        self._gate = gate
        self._service = service
        self._sessions = sessions

    def list_open(self, actor: Actor, *, display_tz: tzinfo) -> list[dict[str, Any]]:
        """Every open alert of every session in progress, highest priority first."""
        subject = Subject(verb="alerts.read", resource_type="alert")

        def work(uow: Any) -> tuple[list[str], dict[str, str], dict[str, str | None]]:
            ids = sessions_in_progress(uow)
            patients = {s: uow.sessions.get(s).patient_id for s in ids}
            return ids, chairs_of_sessions(uow, actor.at), patients

        ids, chairs, patients = self._gate.run(actor, Action.READ_BOARD, subject, work)
        rows: list[dict[str, Any]] = []
        for session_id in ids:
            view = live_view(self._service, session_id, actor.at, display_tz)
            rows.extend(
                {
                    "session_id": session_id,
                    "patient_id": patients.get(session_id),
                    "chair_name": chairs.get(session_id),
                    **alert_to_json(alert, display_tz=display_tz),
                }
                for alert in view.alerts
            )
        rank = {"high": 0, "medium": 1, "low": 2}
        return sorted(rows, key=lambda r: (rank[r["priority"]], r["raised_at"]))

    def acknowledge(
        self, actor: Actor, session_id: str, alert_id: str, *, note: str | None = None
    ) -> CommandResult:
        """Send ``AcknowledgeAlert``; refusals (``alert-unknown``, ``alert-already-acknowledged``)
        come back as ``CommandRefused``."""
        for attempt in range(1, ACKNOWLEDGE_ATTEMPTS + 1):
            state = self._service.get_state(session_id)
            at = actor.at if state.last_at is None or state.last_at <= actor.at else state.last_at
            command: dict[str, Any] = {
                "command": "AcknowledgeAlert",
                "at": at.isoformat(),
                "alert_id": alert_id,
            }
            if note is not None:
                command["note"] = note
            try:
                return self._sessions.send(
                    actor, session_id, command, expected_version=state.version
                )
            except ConcurrencyError:
                if attempt == ACKNOWLEDGE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

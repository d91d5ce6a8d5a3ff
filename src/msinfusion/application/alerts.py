"""Alert use cases for screens: the open alerts of every session in progress, acknowledging.

Open alerts are read from each session's view at the request time, so escalation (an alert
left unacknowledged for ``session.alerting.ESCALATE_AFTER``) shows as it is *now*; every
session is read in the one audited transaction of the request. Acknowledging is the session
command ``AcknowledgeAlert`` sent by the signed-in user (``acknowledge_alert``: nurse,
physician) on the one command path; its ``at`` is the request time, or the session's last
event when a device clock ran ahead of ours.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.monitoring import chairs_of_sessions, sessions_in_progress
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.session_streams import Stream
from msinfusion.application.sessions import CommandOutcome, SessionUseCases, live_view
from msinfusion.session.alerting import alert_to_json
from msinfusion.session.commands import AcknowledgeAlert

_RANK = {"high": 0, "medium": 1, "low": 2}


class AlertUseCases:
    def __init__(self, access: AuditedAccess, sessions: SessionUseCases) -> None:
        self._access = access
        self._sessions = sessions

    def list_open(self, actor: Actor, *, display_tz: tzinfo) -> list[dict[str, Any]]:
        """Every open alert of every session in progress, highest priority first."""
        subject = Subject(verb="alerts.read", resource_type="alert")
        streams = self._sessions.streams

        def work(uow: UnitOfWork) -> list[tuple[str, Stream, str | None, str | None]]:
            ids = sessions_in_progress(uow)
            chairs = chairs_of_sessions(uow, actor.at)
            return [
                (s, streams.read_in(uow, s), uow.sessions.get(s).patient_id, chairs.get(s))
                for s in ids
            ]

        rows: list[dict[str, Any]] = []
        for session_id, stream, patient_id, chair in self._access.run(
            actor, Action.READ_BOARD, subject, work
        ):
            rows.extend(
                {
                    "session_id": session_id,
                    "patient_id": patient_id,
                    "chair_name": chair,
                    **alert_to_json(alert, display_tz=display_tz),
                }
                for alert in live_view(stream, actor.at, display_tz).alerts
            )
        return sorted(rows, key=lambda r: (_RANK[r["priority"]], r["raised_at"]))

    def acknowledge(
        self,
        actor: Actor,
        session_id: str,
        alert_id: str,
        *,
        note: str | None = None,
        display_tz: tzinfo,
    ) -> CommandOutcome:
        """Send ``AcknowledgeAlert``; refusals (``alert-unknown``, ``alert-already-acknowledged``)
        come back as ``CommandRefused``."""
        with self._access.uow_factory() as uow:
            last = self._sessions.streams.read_in(uow, session_id).state.last_at
        at = actor.at if last is None or last <= actor.at else last
        command = AcknowledgeAlert(at=at, user=actor.username, alert_id=alert_id, note=note)
        return self._sessions.handle(
            actor, session_id, command, expected_version=None, display_tz=display_tz
        )

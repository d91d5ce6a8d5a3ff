"""Live notices for alert events, published after the commit that stored them.

``alert-raised`` and ``alert-acknowledged`` carry the session id, the alert id, its rule and
priority — ids and codes only, never patient data (``application/live.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from msinfusion.application.live import LiveUpdates
from msinfusion.session.events import AlertAcknowledged, AlertRaised, Event


def announce_alerts(
    live: LiveUpdates, session_id: str, events: Iterable[Event], *, at: datetime
) -> None:
    """Publish one notice per ``AlertRaised`` / ``AlertAcknowledged`` in ``events``."""
    for event in events:
        if isinstance(event, AlertRaised):
            live.publish(
                "alert-raised",
                at=at,
                session_id=session_id,
                alert_id=event.alert_id,
                rule=event.rule,
                priority=event.priority,
            )
        elif isinstance(event, AlertAcknowledged):
            live.publish(
                "alert-acknowledged", at=at, session_id=session_id, alert_id=event.alert_id
            )

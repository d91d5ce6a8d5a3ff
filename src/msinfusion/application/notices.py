"""Notice handlers: what the live boards and screens hear after a commit.

Registered once, by the composition root, on the message bus. Each committed session change
becomes a ``session-changed`` live notice (plus ``observation-recorded`` for a device reading);
each ``AlertRaised`` / ``AlertAcknowledged`` among its events becomes ``alert-raised`` /
``alert-acknowledged`` with the alert id, rule and priority. Notices carry ids and codes only,
never patient data (``application/live.py``).
"""

from __future__ import annotations

from msinfusion.application.bus import MessageBus, SessionCommitted, SessionOpened
from msinfusion.application.live import LiveUpdates
from msinfusion.session.events import AlertAcknowledged, AlertRaised


def register_notice_handlers(bus: MessageBus, live: LiveUpdates) -> None:
    """Relay committed changes to the live-update broadcaster."""

    def opened(notice: SessionOpened) -> None:
        live.publish("session-changed", at=notice.at, session_id=notice.session_id)
        if notice.appointment_id is not None:
            live.publish("appointment-changed", at=notice.at, appointment_id=notice.appointment_id)

    def committed(notice: SessionCommitted) -> None:
        version = str(notice.version)
        if notice.from_device:
            live.publish(
                "observation-recorded", at=notice.at, session_id=notice.session_id, version=version
            )
        live.publish("session-changed", at=notice.at, session_id=notice.session_id, version=version)
        announce_alerts(live, notice)

    bus.subscribe(SessionOpened, opened)
    bus.subscribe(SessionCommitted, committed)


def announce_alerts(live: LiveUpdates, notice: SessionCommitted) -> None:
    """One live notice per alert raised or acknowledged in the committed events."""
    for numbered in notice.events:
        event = numbered.event
        if isinstance(event, AlertRaised):
            live.publish(
                "alert-raised",
                at=notice.at,
                session_id=notice.session_id,
                alert_id=event.alert_id,
                rule=event.rule,
                priority=event.priority,
            )
        elif isinstance(event, AlertAcknowledged):
            live.publish(
                "alert-acknowledged",
                at=notice.at,
                session_id=notice.session_id,
                alert_id=event.alert_id,
            )

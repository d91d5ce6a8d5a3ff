"""Notice handlers: what the live boards and screens hear after a commit.

Registered once, by the composition root, on the message bus. Each committed session change
becomes a ``session-changed`` live notice (plus ``observation-recorded`` for a device reading);
each ``AlertRaised`` / ``AlertAcknowledged`` among its events becomes ``alert-raised`` /
``alert-acknowledged`` with the alert id, rule and priority. Notices carry ids and codes only,
never patient data (``application/live.py``).

**Escalation.** An alert still unacknowledged ``session.alerting.ESCALATE_AFTER`` after it was
raised is shown one priority higher (read time, ``monitoring.alerts.escalate``). The
``EscalationWatch`` registered here follows the alerts raised and acknowledged on the bus and,
once per alert, publishes ``AlertEscalated`` on the bus when that time has passed; its handler
relays it to the boards and the chairside as ``alert-raised`` with ``escalated=true`` and the
escalated priority, and ``session-changed`` (the live bus has no kind of its own for it yet).
``EscalationWatch.check(now)`` runs after every commit and from ``run`` (a ticker the entry
points start, so an escalation is pushed when nothing else happens). Alerts raised before the
process started are not watched: their escalation still shows at read time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from msinfusion.application.bus import MessageBus, SessionCommitted, SessionOpened
from msinfusion.application.live import LiveUpdates
from msinfusion.monitoring.alerts import AlertPriority
from msinfusion.session.alerting import ESCALATE_AFTER
from msinfusion.session.events import AlertAcknowledged, AlertRaised

ESCALATION_KIND = "alert-escalated"
"""The live kind an escalation is relayed as (with ``escalated=true``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertEscalated:
    """An alert of ``session_id`` was left unacknowledged past its escalation time (``due``);
    ``priority`` is the priority it is shown at from then on."""

    session_id: str
    alert_id: str
    rule: str
    priority: str
    due: datetime
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pending:
    rule: str
    priority: str
    due: datetime


class EscalationWatch:
    """Alerts raised and not yet acknowledged, each with the time it escalates at."""

    def __init__(self, bus: MessageBus, *, after: timedelta = ESCALATE_AFTER) -> None:
        self._bus = bus
        self._after = after
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._lock = threading.Lock()

    def observe(self, notice: SessionCommitted) -> None:
        """Follow the alerts a commit raised or acknowledged."""
        with self._lock:
            for numbered in notice.events:
                event = numbered.event
                key = (notice.session_id, getattr(event, "alert_id", ""))
                if isinstance(event, AlertRaised):
                    self._pending[key] = _Pending(
                        rule=event.rule,
                        priority=AlertPriority(event.priority).raised().value,
                        due=event.at.astimezone(UTC) + self._after,
                    )
                elif isinstance(event, AlertAcknowledged):
                    self._pending.pop(key, None)

    def pending(self) -> dict[tuple[str, str], datetime]:
        """(session id, alert id) -> when it escalates, for the alerts still watched."""
        with self._lock:
            return {key: p.due for key, p in self._pending.items()}

    def check(self, now: datetime) -> tuple[AlertEscalated, ...]:
        """Publish (once) every escalation due at ``now``; returns them."""
        with self._lock:
            due = [(k, p) for k, p in self._pending.items() if p.due <= now.astimezone(UTC)]
            for key, _ in due:
                del self._pending[key]
        escalated = tuple(
            AlertEscalated(
                session_id=session_id,
                alert_id=alert_id,
                rule=p.rule,
                priority=p.priority,
                due=p.due,
                at=now,
            )
            for (session_id, alert_id), p in sorted(due, key=lambda item: item[1].due)
        )
        for notice in escalated:
            self._bus.publish(notice)
        return escalated

    def run(
        self,
        stop: threading.Event,
        *,
        interval_s: float = 15.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Check every ``interval_s`` seconds until ``stop`` is set (``now``: centre clock)."""
        while not stop.wait(interval_s):
            self.check(now())


def register_notice_handlers(
    bus: MessageBus, live: LiveUpdates, *, escalate_after: timedelta = ESCALATE_AFTER
) -> EscalationWatch:
    """Relay committed changes to the live-update broadcaster; the watch that pushes
    escalations (see the module docstring)."""
    watch = EscalationWatch(bus, after=escalate_after)

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
        watch.observe(notice)
        watch.check(notice.at)

    def escalated(notice: AlertEscalated) -> None:
        live.publish(
            ESCALATION_KIND,
            at=notice.at,
            session_id=notice.session_id,
            alert_id=notice.alert_id,
            rule=notice.rule,
            priority=notice.priority,
            escalated="true",
        )
        live.publish("session-changed", at=notice.at, session_id=notice.session_id)

    bus.subscribe(SessionOpened, opened)
    bus.subscribe(SessionCommitted, committed)
    bus.subscribe(AlertEscalated, escalated)
    return watch


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

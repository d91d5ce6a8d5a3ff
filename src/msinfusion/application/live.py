"""Live updates: an in-process broadcaster of "something changed" notices for boards and screens.

Use cases ``publish`` after their transaction committed (so a notice never announces something
that was rolled back); the SSE route ``GET /api/stream`` relays them to browsers, which then
re-read what they show. Notices carry ids and kinds only — never patient data.

Thread-safe: publishers run in worker threads; each subscriber gets its notices through its own
callback (the web adapter hands them to an asyncio queue with ``call_soon_threadsafe``). The last
``history`` notices are kept so a reconnecting client (``Last-Event-ID``) misses nothing.

Several server processes: give each bus a ``relay`` (``adapters/storage/live_relay.py`` sends
every local notice over PostgreSQL NOTIFY) and feed what other processes sent to ``receive``.
Each bus has an ``origin`` id so a process ignores its own echoes; sequence numbers are local to
the process a browser is connected to.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

KINDS = (
    "session-changed",
    "appointment-changed",
    "alert-raised",
    "alert-escalated",
    "alert-acknowledged",
    "observation-recorded",
    "schedule-changed",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    sequence: int
    kind: str
    at: datetime
    data: Mapping[str, str] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "kind": self.kind,
            "at": self.at.isoformat(),
            **self.data,
        }


Listener = Callable[[Notice], None]
Relay = Callable[[dict[str, Any]], None]
"""Sends a local notice to the other processes (its JSON form plus ``origin``)."""


class LiveUpdates:
    def __init__(self, *, history: int = 1000, relay: Relay | None = None) -> None:
        self.origin = uuid.uuid4().hex
        self.relay = relay
        self._lock = threading.Lock()
        self._listeners: dict[int, Listener] = {}
        self._tokens = itertools.count(1)
        self._sequence = itertools.count(1)
        self._recent: deque[Notice] = deque(maxlen=history)

    def publish(self, kind: str, *, at: datetime, **data: str) -> Notice:
        """Announce a committed change; returns the notice (with its sequence number)."""
        notice = self._deliver(kind, at, dict(data))
        if self.relay is not None:
            self.relay({**notice.to_json_dict(), "origin": self.origin})
        return notice

    def receive(self, payload: Mapping[str, Any]) -> Notice | None:
        """Deliver a notice another process published (None for our own echo or a bad one)."""
        if payload.get("origin") == self.origin:
            return None
        try:
            at = datetime.fromisoformat(str(payload["at"]))
            kind = str(payload["kind"])
            data = {
                str(k): str(v)
                for k, v in payload.items()
                if k not in ("sequence", "kind", "at", "origin")
            }
            return self._deliver(kind, at, data)
        except (KeyError, ValueError):
            return None

    def _deliver(self, kind: str, at: datetime, data: dict[str, str]) -> Notice:
        if kind not in KINDS:
            raise ValueError(f"unknown live-update kind {kind!r}")
        with self._lock:
            notice = Notice(sequence=next(self._sequence), kind=kind, at=at, data=data)
            self._recent.append(notice)
            listeners = list(self._listeners.values())
        for listener in listeners:
            try:
                listener(notice)
            except Exception:  # one broken subscriber must not starve the others
                log.warning("live-update listener failed", exc_info=True)
        return notice

    def subscribe(self, listener: Listener) -> int:
        with self._lock:
            token = next(self._tokens)
            self._listeners[token] = listener
        return token

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._listeners.pop(token, None)

    def since(self, sequence: int) -> list[Notice]:
        """Notices after ``sequence`` still in the history (for Last-Event-ID)."""
        with self._lock:
            return [n for n in self._recent if n.sequence > sequence]

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._listeners)

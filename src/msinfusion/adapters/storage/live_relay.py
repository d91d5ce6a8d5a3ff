"""Live updates across server processes over PostgreSQL LISTEN/NOTIFY.

Every notice a process publishes (after its transaction committed) is sent with ``pg_notify`` on
one channel; each process listens on its own connection in a daemon thread and hands what others
sent to its ``LiveUpdates.receive`` (which ignores its own echoes). Notices are ids only, well
under PostgreSQL's 8000-byte payload limit. A lost connection is retried; a notice published
while a listener reconnects can be missed, which a browser recovers from on its next re-read.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import psycopg

from msinfusion.application.live import LiveUpdates

CHANNEL = "msinfusion_live"
log = logging.getLogger(__name__)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL without its driver suffix (``postgresql+psycopg://`` → ``postgresql://``)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


class PostgresLiveRelay:
    """Sends local notices with NOTIFY and feeds other processes' notices to ``live``."""

    def __init__(self, url: str, *, poll_s: float = 1.0) -> None:
        self._url = libpq_url(url)
        self._poll_s = poll_s
        self._send_lock = threading.Lock()
        self._sender: psycopg.Connection[Any] | None = None
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def send(self, payload: dict[str, Any]) -> None:
        """The ``relay`` of a LiveUpdates bus: one NOTIFY per notice (autocommit)."""
        text = json.dumps(payload, separators=(",", ":"))
        with self._send_lock:
            try:
                if self._sender is None or self._sender.closed:
                    self._sender = psycopg.connect(self._url, autocommit=True)
                self._sender.execute("SELECT pg_notify(%s, %s)", (CHANNEL, text))
            except psycopg.Error as error:  # the local board still gets it; others re-read later
                log.warning("live notice not relayed: %s", type(error).__name__)
                self._sender = None

    def start(self, live: LiveUpdates) -> None:
        """Listen in a daemon thread; returns once LISTEN is active (or after 10 s)."""
        self._thread = threading.Thread(
            target=self._listen, args=(live,), name="live-relay", daemon=True
        )
        self._thread.start()
        self._listening.wait(timeout=10)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._send_lock:
            if self._sender is not None:
                self._sender.close()

    def _listen(self, live: LiveUpdates) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self._poll_s):
                            self._deliver(live, note.payload)
            except Exception as error:  # never let the listener thread die: reconnect
                log.warning("live relay reconnecting after %s", type(error).__name__)
                self._stop.wait(self._poll_s)

    @staticmethod
    def _deliver(live: LiveUpdates, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if isinstance(data, dict):
            try:
                live.receive(data)
            except Exception:  # a bad notice is dropped, the relay goes on
                log.warning("live notice from another process not delivered", exc_info=True)


def connect_live_updates(url: str, live: LiveUpdates) -> PostgresLiveRelay:
    """Wire ``live`` to every other process on the PostgreSQL database at ``url``."""
    relay = PostgresLiveRelay(url)
    live.relay = relay.send
    relay.start(live)
    return relay

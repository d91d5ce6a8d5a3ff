"""Sending the pump order outbox off the request path: one background thread per process.

The nurse's command stores its order in its own transaction (``PumpOrders.project``) and
returns; it never waits for the gateway (an unreachable one could hold a request for its whole
timeout). ``PumpDispatcher`` runs ``PumpOrders.dispatch`` on a thread of its own: woken by
``wake`` — the bus's ``SessionCommitted`` for a nurse's start, step or resume, which costs no
database access — and every ``every`` seconds anyway, so an order left queued (gateway down,
a crash of the process that stored it, an order stored by another process) is sent when the
gateway answers again. The web server starts one in its lifespan, ``pumps listen`` another;
the orders' leases (``PumpOrderRepository.claim``) keep them from sending the same order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Self

from msinfusion.application.bus import SessionCommitted
from msinfusion.application.pump_orders import PumpOrders, causes_order

log = logging.getLogger(__name__)

DISPATCH_EVERY_S = 10.0
"""Seconds between two sends of what is still queued (``pumps listen --retry-every``)."""


class PumpDispatcher:
    """``with PumpDispatcher(orders, clock):`` — the outbox's sender thread (module docstring)."""

    def __init__(
        self,
        orders: PumpOrders,
        clock: Callable[[], datetime],
        *,
        every_s: float = DISPATCH_EVERY_S,
    ) -> None:
        self._orders = orders
        self._clock = clock
        self.every_s = every_s
        """Seconds between two rounds when nothing wakes the sender."""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        """Dispatch rounds run so far (tests wait on it)."""

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Send what is queued now (returns at once)."""
        self._wake.set()

    def on_committed(self, notice: SessionCommitted) -> None:
        """The bus handler: a nurse's committed start, step or resume wakes the sender."""
        if not notice.from_device and any(causes_order(n.event) for n in notice.events):
            self.wake()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pump-orders", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop after the order being sent, if any (a send waits at most the gateway timeout)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.every_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._orders.dispatch(now=self._clock())
            except Exception:  # the sender must outlive one bad round (a locked database ...)
                log.exception("pump order dispatch failed; retried on the next round")
            self.rounds += 1

"""The message bus: notices of committed changes, handed to the handlers registered for them.

Use cases publish a notice only after the commit that stored what it announces, so no handler
ever hears of something that was rolled back. Handlers are registered in one place
(``bootstrap.build_centre`` calls ``notices.register_notice_handlers``); a failing handler is
logged and never undoes the commit nor starves the others.

>>> bus = MessageBus()
>>> heard = []
>>> bus.subscribe(SessionOpened, heard.append)
>>> from datetime import datetime, UTC
>>> bus.publish(SessionOpened(session_id="s-1", appointment_id=None,
...                           at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
>>> [n.session_id for n in heard]
['s-1']
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from msinfusion.application.session_streams import NumberedEvent

log = logging.getLogger(__name__)

N = TypeVar("N")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionOpened:
    session_id: str
    appointment_id: str | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionCommitted:
    """A command's events are durably stored; ``version`` is the stream's version after them."""

    session_id: str
    version: int
    events: tuple[NumberedEvent, ...]
    at: datetime
    from_device: bool = False


class MessageBus:
    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Callable[[Any], None]]] = {}
        self._lock = threading.Lock()

    def subscribe(self, notice_type: type[N], handler: Callable[[N], None]) -> None:
        with self._lock:
            self._handlers.setdefault(notice_type, []).append(handler)

    def publish(self, notice: object) -> None:
        with self._lock:
            handlers = list(self._handlers.get(type(notice), ()))
        for handler in handlers:
            try:
                handler(notice)
            except Exception:  # a notice is best effort; the change is committed already
                log.warning("notice handler failed for %s", type(notice).__name__, exc_info=True)

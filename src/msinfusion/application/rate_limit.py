"""Login rate limiting: an in-memory sliding window of failed attempts per key.

The caller passes the time of each attempt (the clock is injected at the edge), so tests step
time by hand. Keys are opaque strings such as ``"user:alice|ip:10.0.0.7"``; nothing is logged.
Memory is bounded: at most ``max_keys`` keys are kept, the stalest dropped first.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

from msinfusion.errors import TooManyAttempts


class SlidingWindowLimiter:
    """At most ``max_failures`` failures per key in any ``window``; then ``TooManyAttempts``.

    >>> from datetime import UTC
    >>> limiter = SlidingWindowLimiter(max_failures=2, window=timedelta(minutes=1))
    >>> t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    >>> limiter.fail("k", t0); limiter.fail("k", t0)
    >>> limiter.check("k", t0 + timedelta(seconds=59))
    Traceback (most recent call last):
    msinfusion.errors.TooManyAttempts: too many failed logins; try again in 1 seconds
    >>> limiter.check("k", t0 + timedelta(seconds=60))
    """

    def __init__(self, *, max_failures: int, window: timedelta, max_keys: int = 100_000) -> None:
        if max_failures < 1 or window <= timedelta(0):
            raise ValueError("max_failures must be >= 1 and window positive")
        self.max_failures = max_failures
        self.window = window
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, at: datetime) -> deque[datetime]:
        times = self._failures.get(key, deque())
        while times and times[0] <= at - self.window:
            times.popleft()
        return times

    def check(self, key: str, at: datetime) -> None:
        """Raise ``TooManyAttempts`` when ``key`` has used up its failures in the window."""
        with self._lock:
            times = self._recent(key, at)
            if len(times) >= self.max_failures:
                wait = times[0] + self.window - at
                raise TooManyAttempts(retry_after_s=max(1, math.ceil(wait.total_seconds())))

    def fail(self, key: str, at: datetime) -> None:
        """Count one failed attempt for ``key`` at ``at``."""
        with self._lock:
            times = self._recent(key, at)
            times.append(at)
            self._failures[key] = times
            self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def reset(self, key: str) -> None:
        """Forget ``key``'s failures (after a successful login)."""
        with self._lock:
            self._failures.pop(key, None)

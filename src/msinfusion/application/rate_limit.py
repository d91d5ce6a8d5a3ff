"""Login rate limiting: in-memory sliding windows of failed attempts per key.

The caller passes the time of each attempt (the clock is injected at the edge), so tests step
time by hand. Keys are opaque strings such as ``"user:alice|ip:10.0.0.7"``; nothing is logged.
Memory is bounded: at most ``max_keys`` keys are kept, the stalest dropped first.

``LoginThrottle`` is what ``Accounts.login`` uses: it *reserves* an attempt on every key under
one lock before the password is checked (``admit``), so N concurrent wrong passwords lead to at
most the limit of password checks, never a check-then-count race. A success hands the
reservation back (``succeeded``); a failure keeps it (``failed``).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
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

    def paused_for(self, key: str, at: datetime) -> int | None:
        """Seconds until ``key`` may try again, or None (callers hold no lock of ours)."""
        with self._lock:
            times = self._recent(key, at)
            if len(times) < self.max_failures:
                return None
            wait = times[0] + self.window - at
            return max(1, math.ceil(wait.total_seconds()))

    def check(self, key: str, at: datetime) -> None:
        """Raise ``TooManyAttempts`` when ``key`` has used up its failures in the window."""
        wait = self.paused_for(key, at)
        if wait is not None:
            raise TooManyAttempts(retry_after_s=wait)

    def fail(self, key: str, at: datetime) -> None:
        """Count one failed attempt for ``key`` at ``at``."""
        with self._lock:
            times = self._recent(key, at)
            times.append(at)
            self._failures[key] = times
            self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def forget_one(self, key: str, at: datetime) -> None:
        """Take back one attempt counted at ``at`` (a reservation that turned out a success)."""
        with self._lock:
            times = self._failures.get(key)
            if times is not None and at in times:
                times.remove(at)

    def reset(self, key: str) -> None:
        """Forget ``key``'s failures (after a successful login)."""
        with self._lock:
            self._failures.pop(key, None)


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A reserved login attempt: its keys and time (``LoginThrottle.admit``)."""

    account: str
    account_and_address: str
    address: str
    at: datetime


class LoginThrottle:
    """Failed logins per account and address, per address, and per account, reserved atomically.

    * ``per_account_and_address`` (5 in 15 min): one person's typos, one attacker on one account.
    * ``per_address`` (50 in 15 min): one address spraying many accounts. Only addresses count
      that the server can trust (``MSINFUSION_TRUSTED_PROXIES``): behind a proxy, every caller
      is otherwise one address.
    * ``per_account`` (100 in 15 min, the ceiling of NIST SP 800-63B section 5.2.2): guessing
      one account from many addresses. An address that has signed in to the account before is
      not held back by it, so strangers' failures cannot lock a user (or the last admin) out
      of their own workstation.

    >>> from datetime import UTC
    >>> throttle = LoginThrottle(per_account_and_address=1, per_address=5, per_account=5)
    >>> t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    >>> throttle.failed(throttle.admit("alice", "10.0.0.1", t0))
    >>> throttle.admit("alice", "10.0.0.1", t0)
    Traceback (most recent call last):
    msinfusion.errors.TooManyAttempts: too many failed logins; try again in 900 seconds
    >>> throttle.succeeded(throttle.admit("alice", "10.0.0.2", t0))
    """

    def __init__(
        self,
        *,
        per_account_and_address: int = 5,
        per_address: int = 50,
        per_account: int = 100,
        window: timedelta = timedelta(minutes=15),
        max_keys: int = 100_000,
    ) -> None:
        def limiter(limit: int) -> SlidingWindowLimiter:
            return SlidingWindowLimiter(max_failures=limit, window=window, max_keys=max_keys)

        self.per_account_and_address = limiter(per_account_and_address)
        self.per_address = limiter(per_address)
        self.per_account = limiter(per_account)
        self._known: OrderedDict[str, None] = OrderedDict()
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def admit(self, username: str, address: str | None, at: datetime) -> LoginAttempt:
        """Reserve one attempt on every key, or raise ``TooManyAttempts`` reserving nothing."""
        account = f"user:{username.casefold()}"
        where = f"ip:{address}"
        attempt = LoginAttempt(
            account=account, account_and_address=f"{account}|{where}", address=where, at=at
        )
        with self._lock:
            waits = [
                self.per_account_and_address.paused_for(attempt.account_and_address, at),
                self.per_address.paused_for(where, at),
            ]
            if attempt.account_and_address not in self._known:
                waits.append(self.per_account.paused_for(account, at))
            paused = [w for w in waits if w is not None]
            if paused:
                raise TooManyAttempts(retry_after_s=max(paused))
            self.per_account_and_address.fail(attempt.account_and_address, at)
            self.per_address.fail(where, at)
            self.per_account.fail(account, at)
        return attempt

    def succeeded(self, attempt: LoginAttempt) -> None:
        """The password was right: hand the reservation back and remember the address."""
        with self._lock:
            self.per_account_and_address.reset(attempt.account_and_address)
            self.per_address.forget_one(attempt.address, attempt.at)
            self.per_account.forget_one(attempt.account, attempt.at)
            self._known[attempt.account_and_address] = None
            self._known.move_to_end(attempt.account_and_address)
            while len(self._known) > self._max_keys:
                self._known.popitem(last=False)

    def failed(self, attempt: LoginAttempt) -> None:
        """The password was wrong: the reservation stays counted as a failure."""

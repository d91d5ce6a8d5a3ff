"""SQLite's writers of one process queue in arrival order instead of sleeping (issue 22).

SQLite has one writer at a time. A second ``BEGIN IMMEDIATE`` waits in SQLite's busy handler,
which sleeps with a growing back-off (up to 100 ms a try) and does not notice when the lock is
freed: at 16 HTTP clients the p99 of a command was seconds while the lock was often free. A
``FifoLock`` per engine, taken before ``BEGIN IMMEDIATE`` and released once ``COMMIT`` or
``ROLLBACK`` has returned, hands the write lock straight to the longest waiter of this process.
Other processes still meet SQLite's lock and wait in its busy handler (``busy_timeout``).
Read-only transactions (``BEGIN DEFERRED``) never take it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque


class FifoLock:
    """A non-reentrant lock granted in the order of ``acquire`` calls (no barging).

    ``release`` hands the lock to the first waiter directly, so a thread that arrives while
    others wait queues behind them. It is not owned by a thread: the thread that commits may
    differ from the one that began (a connection returned to the pool from another thread).
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Event] = deque()

    @property
    def waiting(self) -> int:
        """How many ``acquire`` calls are queued."""
        with self._mutex:
            return len(self._waiters)

    def acquire(self, timeout_s: float | None = None) -> bool:
        """Wait for the lock (at most ``timeout_s``); ``False`` when the wait timed out."""
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout_s):
            return True
        with self._mutex:
            if turn.is_set():  # granted between the timeout and the mutex
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if not self._held:
                raise RuntimeError("release of an unheld FifoLock")
            if self._waiters:
                self._waiters.popleft().set()  # ownership passes on; _held stays True
            else:
                self._held = False


class QueuedWriterConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that gives its engine's ``FifoLock`` back when its transaction
    ends (``commit``, ``rollback`` — also the pool's reset on check-in — or ``close``)."""

    write_lock: FifoLock | None = None
    holds_write_lock = False

    def hold_write_lock(self, timeout_s: float) -> None:
        """Queue for the write lock before ``BEGIN IMMEDIATE``. After ``timeout_s`` the
        transaction goes on without it and SQLite's busy handler decides, as before."""
        if self.write_lock is not None and not self.holds_write_lock:
            self.holds_write_lock = self.write_lock.acquire(timeout_s)

    def give_back_write_lock(self) -> None:
        if self.holds_write_lock and self.write_lock is not None:
            self.holds_write_lock = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_back_write_lock()

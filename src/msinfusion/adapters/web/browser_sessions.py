"""Browser sessions: opaque random ids in an HttpOnly cookie, state kept server-side.

The store keeps only the SHA-256 of each session id (a leaked memory dump cannot be replayed as
a cookie), the user id, the CSRF token, and the times. Sessions end on logout, after
``idle`` without use, or ``lifetime`` after login. In memory: a restart signs everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

SESSION_COOKIE = "msinfusion_session"
CSRF_COOKIE = "msinfusion_csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_SESSIONS = 100_000


@dataclass(frozen=True, slots=True, kw_only=True)
class BrowserSession:
    user_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class BrowserSessionStore:
    def __init__(self, *, idle: timedelta, lifetime: timedelta) -> None:
        self._idle = idle
        self._lifetime = lifetime
        self._sessions: dict[str, BrowserSession] = {}
        self._lock = threading.Lock()

    def open(self, user_id: str, at: datetime) -> tuple[str, BrowserSession]:
        """A new session: the raw id (for the cookie, never stored) and its record."""
        session_id = secrets.token_urlsafe(32)
        session = BrowserSession(
            user_id=user_id, csrf_token=secrets.token_urlsafe(32), created_at=at, last_seen_at=at
        )
        with self._lock:
            self._expire(at)
            self._sessions[_digest(session_id)] = session
        return session_id, session

    def get(self, session_id: str, at: datetime) -> BrowserSession | None:
        """The live session of ``session_id`` (its idle clock restarted), or None."""
        key = _digest(session_id)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            if self._expired(session, at):
                del self._sessions[key]
                return None
            touched = replace(session, last_seen_at=at)
            self._sessions[key] = touched
            return touched

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(_digest(session_id), None)

    def _expired(self, session: BrowserSession, at: datetime) -> bool:
        return at - session.last_seen_at > self._idle or at - session.created_at > self._lifetime

    def _expire(self, at: datetime) -> None:
        if len(self._sessions) < MAX_SESSIONS:
            return
        for key in [k for k, s in self._sessions.items() if self._expired(s, at)]:
            del self._sessions[key]
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]


def csrf_matches(expected: str, presented: object) -> bool:
    """Whether ``presented`` (a header or form value, or None) is the session's CSRF token.

    The one decision for the JSON API (``auth.py``) and the form pages (``ui/access.py``);
    anything but a string is refused, and the comparison takes constant time.
    """
    return isinstance(presented, str) and hmac.compare_digest(expected.encode(), presented.encode())

"""Browser sessions: opaque random ids in an HttpOnly cookie, state kept in storage.

Only the SHA-256 of each session id is stored (a copy of the table cannot be replayed as a
cookie), with the user id, the CSRF token and the times; a server restart signs nobody out, and
every server on one PostgreSQL database sees the same sessions. Sessions end on logout, after
``idle`` without use, ``lifetime`` after login, when the user's password changes (all but the
session that changed it) and when an administrator resets it or deactivates the user. The
last-seen time is written at most once a ``touch_every`` so that reads do not all become writes;
the sign-in read itself is a read-only unit (on SQLite it takes no write lock), and the rare
touch or removal is a short write of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from msinfusion.application.audit import UnitOfWorkFactory
from msinfusion.application.ports import UnitOfWork, read_only_unit
from msinfusion.application.records import BrowserSession, User
from msinfusion.errors import RecordNotFound

TOUCH_EVERY = timedelta(seconds=60)


def session_digest(session_id: str) -> str:
    """The stored id of a cookie's session id (hex SHA-256)."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


class BrowserSessions:
    """Open, look up and close browser sessions (``BrowserSessionRepository``)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        idle: timedelta,
        lifetime: timedelta,
        touch_every: timedelta = TOUCH_EVERY,
    ) -> None:
        self._uow_factory = uow_factory
        self.idle = idle
        self.lifetime = lifetime
        self._touch_every = touch_every

    def open(self, user_id: str, at: datetime) -> tuple[str, BrowserSession]:
        """A new session: the raw id (for the cookie, never stored) and its record."""
        session_id = secrets.token_urlsafe(32)
        session = BrowserSession(
            id=session_digest(session_id),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=at,
            last_seen_at=at,
        )
        with self._uow_factory() as uow:
            uow.browser_sessions.remove_expired(
                seen_before=at - self.idle, created_before=at - self.lifetime
            )
            uow.browser_sessions.add(session)
            uow.commit()
        return session_id, session

    def _expired(self, session: BrowserSession, at: datetime) -> bool:
        return at - session.last_seen_at > self.idle or at - session.created_at > self.lifetime

    def get(self, session_id: str, at: datetime) -> BrowserSession | None:
        """The live session of ``session_id`` (its idle clock restarted), or None."""
        found = self.signed_in(session_id, at)
        return None if found is None else found[0]

    def signed_in(self, session_id: str, at: datetime) -> tuple[BrowserSession, User] | None:
        """The live session of ``session_id`` and its active user, in one read (a page's whole
        sign-in cost), or None."""
        key = session_digest(session_id)
        found = self._read(key) if len(session_id) <= 200 else None
        if found is None:
            return None
        session, user = found
        if self._expired(session, at):
            with contextlib.suppress(RecordNotFound):  # removed meanwhile: as good
                self._write(lambda uow: uow.browser_sessions.remove(key))
            return None
        if not user.active:
            return None
        if at - session.last_seen_at < self._touch_every:
            return session, user
        touched = replace(session, last_seen_at=at)
        try:  # the idle clock restarted, at most every ``touch_every``
            self._write(lambda uow: uow.browser_sessions.update(touched))
        except RecordNotFound:  # signed out meanwhile
            return None
        return touched, user

    def _read(self, key: str) -> tuple[BrowserSession, User] | None:
        with read_only_unit(self._uow_factory) as uow:  # no write lock for a page's sign-in
            try:
                session = uow.browser_sessions.get(key)
                return session, uow.users.get(session.user_id)
            except RecordNotFound:
                return None

    def _write(self, change: Callable[[UnitOfWork], None]) -> None:
        with self._uow_factory() as uow:
            change(uow)
            uow.commit()

    def close(self, session_id: str) -> None:
        with self._uow_factory() as uow:
            uow.browser_sessions.remove(session_digest(session_id))
            uow.commit()

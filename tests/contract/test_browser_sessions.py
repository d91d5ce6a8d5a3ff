"""The ``BrowserSessionRepository`` contract on the fake, SQLite and PostgreSQL (migration 0005)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from msinfusion.application.records import BrowserSession, Role, User
from msinfusion.errors import RecordNotFound
from tests.contract.conftest import UnitOfWorkFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _session(sid: str, user_id: str = "u-1", *, at: datetime = T0) -> BrowserSession:
    return BrowserSession(
        id=sid, user_id=user_id, csrf_token="c" * 43, created_at=at, last_seen_at=at
    )


def _users(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        for uid in ("u-1", "u-2"):
            uow.users.add(User(id=uid, username=uid, role=Role.NURSE, password_hash="x"))
        uow.commit()


def test_sessions_are_stored_touched_and_removed(uow_factory: UnitOfWorkFactory) -> None:
    _users(uow_factory)
    with uow_factory() as uow:
        uow.browser_sessions.add(_session("s-1"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.browser_sessions.get("s-1") == _session("s-1")
        later = T0 + timedelta(minutes=5)
        uow.browser_sessions.update(
            BrowserSession(
                id="s-1", user_id="u-1", csrf_token="c" * 43, created_at=T0, last_seen_at=later
            )
        )
        uow.commit()
    with uow_factory() as uow:
        assert uow.browser_sessions.get("s-1").last_seen_at == T0 + timedelta(minutes=5)
        uow.browser_sessions.remove("s-1")
        uow.browser_sessions.remove("never-there")
        uow.commit()
    with uow_factory() as uow, pytest.raises(RecordNotFound):
        uow.browser_sessions.get("s-1")


def test_a_session_needs_a_stored_user(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow, pytest.raises(RecordNotFound):
        uow.browser_sessions.add(_session("s-1", "nobody"))


def test_removing_a_users_sessions_keeps_the_one_asked(uow_factory: UnitOfWorkFactory) -> None:
    _users(uow_factory)
    with uow_factory() as uow:
        for sid, uid in (("a", "u-1"), ("b", "u-1"), ("c", "u-1"), ("d", "u-2")):
            uow.browser_sessions.add(_session(sid, uid))
        uow.commit()
    with uow_factory() as uow:
        assert uow.browser_sessions.remove_for_user("u-1", keep="b") == 2
        uow.commit()
    with uow_factory() as uow:
        assert uow.browser_sessions.get("b").user_id == "u-1"
        assert uow.browser_sessions.get("d").user_id == "u-2"
        for gone in ("a", "c"):
            with pytest.raises(RecordNotFound):
                uow.browser_sessions.get(gone)


def test_expired_sessions_are_removed(uow_factory: UnitOfWorkFactory) -> None:
    _users(uow_factory)
    with uow_factory() as uow:
        uow.browser_sessions.add(_session("old", at=T0))
        uow.browser_sessions.add(_session("new", at=T0 + timedelta(hours=1)))
        uow.commit()
    with uow_factory() as uow:
        removed = uow.browser_sessions.remove_expired(
            seen_before=T0 + timedelta(minutes=30), created_before=T0 - timedelta(hours=12)
        )
        assert removed == 1
        uow.commit()
    with uow_factory() as uow:
        assert uow.browser_sessions.get("new").id == "new"
        with pytest.raises(RecordNotFound):
            uow.browser_sessions.get("old")


def test_an_uncommitted_removal_is_rolled_back(uow_factory: UnitOfWorkFactory) -> None:
    _users(uow_factory)
    with uow_factory() as uow:
        uow.browser_sessions.add(_session("s-1"))
        uow.commit()
    with uow_factory() as uow:
        uow.browser_sessions.remove_for_user("u-1")
    with uow_factory() as uow:
        assert uow.browser_sessions.get("s-1").id == "s-1"

"""Authentication reads without SQLite's write lock (issue 22): a token, a cookie session and
a principal are read in ``BEGIN DEFERRED`` transactions, so a sign-in never queues behind a
writer (a long group commit, a migration) and never holds one up. Without the read-only unit
each of these reads would wait for the writer below (``BEGIN IMMEDIATE``, 30 s busy timeout)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, World, build_world

PATIENCE_S = 5.0
"""Far below the 30 s busy timeout a locked read would wait for."""


@pytest.fixture
def stored(tmp_path: Path) -> Iterator[tuple[World, Engine]]:
    engine = create_engine_for(sqlite_url(tmp_path / "auth.db"))
    upgrade(engine)
    try:
        yield build_world(sql_unit_of_work_factory(engine), clinical=False), engine
    finally:
        engine.dispose()


def while_a_writer_holds_the_lock(engine: Engine, read: Callable[[], object]) -> float:
    """Seconds ``read`` took while another connection holds the write lock, uncommitted."""
    seconds: list[float] = []
    with engine.connect() as writer:
        writer.execute(text("UPDATE users SET active = active"))  # BEGIN IMMEDIATE, locked

        def timed() -> None:
            start = time.perf_counter()
            read()
            seconds.append(time.perf_counter() - start)

        reader = threading.Thread(target=timed)
        reader.start()
        reader.join(PATIENCE_S)
        writer.rollback()
    reader.join()
    return seconds[0]


def test_token_and_principal_reads_do_not_wait_for_a_writer(
    stored: tuple[World, Engine],
) -> None:
    world, engine = stored
    accounts = world.centre.accounts
    token = world.tokens[Role.NURSE]
    nurse = world.user_ids[Role.NURSE]
    accounts.clear_token_cache()  # read from the store, not the short token cache
    assert while_a_writer_holds_the_lock(engine, lambda: accounts.authenticate_token(token)) < 1
    assert while_a_writer_holds_the_lock(engine, lambda: accounts.get_principal(nurse)) < 1
    assert accounts.authenticate_token(token).user_id == nurse


def test_a_cookie_sign_in_reads_without_the_lock_and_touches_in_a_write_of_its_own(
    stored: tuple[World, Engine],
) -> None:
    world, engine = stored
    sessions = world.centre.browser_sessions
    cookie, opened = sessions.open(world.user_ids[Role.NURSE], NOW)
    seconds = while_a_writer_holds_the_lock(engine, lambda: sessions.signed_in(cookie, NOW))
    assert seconds < 1
    later = NOW + sessions.idle / 2  # past touch_every: the idle clock restarts, stored
    found = sessions.signed_in(cookie, later)
    assert found is not None
    assert found[0].last_seen_at == later
    assert sessions.get(cookie, later) == found[0]
    assert sessions.signed_in(cookie, later + sessions.idle * 2) is None  # idle: ended
    assert sessions.signed_in(cookie, later) is None  # and removed
    assert opened.user_id == world.user_ids[Role.NURSE]

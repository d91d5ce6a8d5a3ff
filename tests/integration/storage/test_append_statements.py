"""The event append runs no version query of its own (issue 22): the hash of the event it
chains to and the insert, two statements — one, the insert, when the transaction has just read
the stream up to that event (a decision's read of its tail); a stale or future caller still
gets the conflict, and a row of this transaction's rolled-back savepoint is never chained to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.chain import verify_chains
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.storage.unit_of_work import SqlUnitOfWork
from msinfusion.errors import ConcurrencyError
from tests.contract.samples import stored_event
from tests.pg_cluster import Cluster


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url(tmp_path / "append.db"))
    upgrade(engine)
    yield engine
    engine.dispose()


def test_an_append_is_the_tail_hash_and_one_insert(engine: Engine) -> None:
    factory = sql_unit_of_work_factory(engine)
    with factory() as uow:
        uow.events.append("s-1", [stored_event(0), stored_event(1)], expected_version=0)
        uow.commit()
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]).split()[0].upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with factory() as uow:
            statements.clear()
            assert uow.events.append("s-1", [stored_event(2)], expected_version=2) == 3
            appended = list(statements)
            uow.commit()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [s for s in appended if s != "BEGIN"] == ["SELECT", "INSERT"]  # BEGIN IMMEDIATE


@pytest.mark.parametrize("expected", [1, 3])
def test_a_stale_or_future_append_is_the_same_conflict(engine: Engine, expected: int) -> None:
    factory = sql_unit_of_work_factory(engine)
    with factory() as uow:
        uow.events.append("s-1", [stored_event(0), stored_event(1)], expected_version=0)
        uow.commit()
    with factory() as uow, pytest.raises(ConcurrencyError) as refused:
        uow.events.append("s-1", [stored_event(9)], expected_version=expected)
    assert (refused.value.expected, refused.value.actual) == (expected, 2)


def test_an_append_after_reading_the_tail_is_one_insert_and_the_chain_holds(
    engine: Engine,
) -> None:
    factory = sql_unit_of_work_factory(engine)
    with factory() as uow:
        uow.events.append("s-1", [stored_event(0), stored_event(1)], expected_version=0)
        uow.commit()
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(" ".join(str(args[2]).split()[:2]).upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with factory() as uow:
            assert len(uow.events.read("s-1", after_version=1)) == 1  # the tail, event 2
            statements.clear()
            assert uow.events.append("s-1", [stored_event(2)], expected_version=2) == 3
            appended = list(statements)
            # the stream now holds this transaction's row: the next append reads its hash
            assert len(uow.events.read("s-1", after_version=2)) == 1
            statements.clear()
            assert uow.events.append("s-1", [stored_event(3)], expected_version=3) == 4
            again = list(statements)
            uow.commit()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert appended == ["INSERT INTO"]
    assert again == ["SELECT SESSION_EVENTS.ROW_HASH", "INSERT INTO"]
    with engine.connect() as connection:
        report = verify_chains(connection)
    assert report.holds, report.broken
    assert report.event_rows == 4


def test_a_rolled_back_savepoints_event_is_never_chained_to(engine: Engine) -> None:
    factory = sql_unit_of_work_factory(engine)
    with factory() as uow:
        uow.events.append("s-1", [stored_event(0)], expected_version=0)
        uow.commit()
    with factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        uow.events.read("s-1")
        savepoint = uow.savepoint()
        savepoint.__enter__()
        uow.events.append("s-1", [stored_event(1)], expected_version=1)
        assert len(uow.events.read("s-1")) == 2  # its own row, about to be rolled back
        savepoint.__exit__(RuntimeError, RuntimeError("the message failed"), None)
        with pytest.raises(ConcurrencyError) as refused:  # not a gap at version 2
            uow.events.append("s-1", [stored_event(2)], expected_version=2)
        assert refused.value.actual == 1
        assert uow.events.append("s-1", [stored_event(2)], expected_version=1) == 2
        uow.commit()
    with engine.connect() as connection:
        report = verify_chains(connection)
    assert report.holds, report.broken
    assert report.event_rows == 2


def test_a_prefetched_tail_answers_one_read_and_a_writer_since_makes_the_append_refused(
    postgres_cluster: Cluster,
) -> None:
    """Group commit reads its streams' tails in one query at the start (read committed: a
    listener may append meanwhile); the stale read is then refused by the unique key, never
    interleaved."""
    engine = create_engine_for(postgres_cluster.create_database("prefetch"))
    upgrade(engine)
    try:
        factory = sql_unit_of_work_factory(engine)
        _ = _append_committed(factory, "s-1", 2), _append_committed(factory, "s-2", 1)
        with factory() as uow:
            uow.events.prefetch({"s-1": 1, "s-2": 0, "s-9": 0})
            with factory() as other:
                other.events.append("s-1", [stored_event(7)], expected_version=2)
                other.commit()
            assert uow.events.read("s-1", after_version=1) == [stored_event(1)]  # as of then
            assert uow.events.read("s-1", after_version=1) == [stored_event(1), stored_event(7)]
            assert uow.events.read("s-9") == []
            with pytest.raises(ConcurrencyError) as refused:
                uow.events.append("s-1", [stored_event(8)], expected_version=2)
            assert refused.value.actual == 3
        with factory() as uow:
            assert uow.events.read("s-2") == [stored_event(0)]
            assert uow.events.read("s-1") == [stored_event(0), stored_event(1), stored_event(7)]
        with engine.connect() as connection:
            assert verify_chains(connection).holds
    finally:
        engine.dispose()


def _append_committed(factory: Any, stream_id: str, count: int) -> int:
    with factory() as uow:
        version = uow.events.append(
            stream_id, [stored_event(i) for i in range(count)], expected_version=0
        )
        uow.commit()
    return int(version)


def test_held_appends_are_one_insert_read_back_by_their_stream_and_chained(
    engine: Engine,
) -> None:
    factory = sql_unit_of_work_factory(engine)
    _append_committed(factory, "s-1", 1)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(" ".join(str(args[2]).split()[:3]).upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with factory() as uow:
            uow.events.hold_appends()
            uow.events.read("s-1")
            statements.clear()
            uow.events.append("s-1", [stored_event(1)], expected_version=1)
            uow.events.append("s-2", [stored_event(0)], expected_version=0)
            uow.events.read("s-3")  # another stream: nothing inserted for it
            held = list(statements)
            assert uow.events.read("s-2") == [stored_event(0)]  # its stream sees them
            uow.events.append("s-2", [stored_event(1)], expected_version=1)
            uow.events.append("s-1", [stored_event(2)], expected_version=2)  # tail inserted
            statements.clear()
            uow.commit()  # the rest, with the commit
            committed = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert held == ["SELECT SESSION_EVENTS.PAYLOAD, SESSION_EVENTS.VERSION,"]
    assert committed == ["INSERT INTO SESSION_EVENTS"]
    with factory() as uow:
        assert uow.events.read("s-1") == [stored_event(0), stored_event(1), stored_event(2)]
        assert uow.events.read("s-2") == [stored_event(0), stored_event(1)]
    with engine.connect() as connection:
        report = verify_chains(connection)
    assert report.holds, report.broken
    assert report.event_rows == 5


def test_a_held_append_that_lost_is_refused_by_its_flush_and_nothing_is_stored(
    postgres_cluster: Cluster,
) -> None:
    engine = create_engine_for(postgres_cluster.create_database("held"))
    upgrade(engine)
    try:
        factory = sql_unit_of_work_factory(engine)
        _append_committed(factory, "s-1", 1)
        with factory() as uow:
            uow.events.hold_appends()
            assert uow.events.read("s-1") == [stored_event(0)]
            uow.events.append("s-2", [stored_event(0)], expected_version=0)
            uow.events.append("s-1", [stored_event(1)], expected_version=1)
            with factory() as other:
                other.events.append("s-1", [stored_event(5)], expected_version=1)
                other.commit()
            with pytest.raises(ConcurrencyError) as refused:
                uow.events.flush()
            assert refused.value.actual == 2  # named by its first row: s-1, the winner at 2
        with factory() as uow:
            assert uow.events.read("s-1") == [stored_event(0), stored_event(5)]
            assert uow.events.read("s-2") == []
    finally:
        engine.dispose()


def test_a_rollback_drops_held_appends(engine: Engine) -> None:
    factory = sql_unit_of_work_factory(engine)
    with factory() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        uow.events.hold_appends()
        uow.events.append("s-1", [stored_event(0)], expected_version=0)
        uow.rollback()
        uow.events.append("s-2", [stored_event(1)], expected_version=0)  # not held any more
        uow.commit()
    with factory() as uow:
        assert uow.events.read("s-1") == []
        assert uow.events.read("s-2") == [stored_event(1)]

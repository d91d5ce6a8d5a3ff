"""SQLite writers of one engine queue in arrival order (issue 22, ``write_lock.py``).

Before, a second writer slept in SQLite's busy handler and whichever retried first after a
commit won, so the order below was a lottery and a writer could sleep while the lock was free.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.storage.write_lock import FifoLock, QueuedWriterConnection

WRITERS = 8
PATIENCE_S = 5.0


def wait_until(condition: Callable[[], bool], timeout_s: float = PATIENCE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.001)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url(tmp_path / "queue.db"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE arrivals (n INTEGER)"))
    yield engine
    engine.dispose()


def engine_lock(engine: Engine) -> FifoLock:
    with engine.connect() as connection:
        dbapi = connection.connection.dbapi_connection
        assert isinstance(dbapi, QueuedWriterConnection)
        assert dbapi.write_lock is not None
        return dbapi.write_lock


def test_fifo_lock_grants_in_arrival_order() -> None:
    lock = FifoLock()
    assert lock.acquire()
    granted: list[int] = []

    def take(n: int) -> None:
        assert lock.acquire(PATIENCE_S)
        granted.append(n)
        lock.release()

    threads = []
    for n in range(WRITERS):
        thread = threading.Thread(target=take, args=(n,))
        thread.start()
        threads.append(thread)
        wait_until(lambda: lock.waiting == len(threads))
    lock.release()
    for thread in threads:
        thread.join()
    assert granted == list(range(WRITERS))
    assert lock.acquire(0)  # free again


def test_fifo_lock_timeout_leaves_the_queue() -> None:
    lock = FifoLock()
    assert lock.acquire()
    assert lock.acquire(0.01) is False
    assert lock.waiting == 0
    lock.release()
    assert lock.acquire(0)
    lock.release()
    with pytest.raises(RuntimeError, match="unheld"):
        lock.release()


def test_writers_commit_in_the_order_they_began(engine: Engine) -> None:
    lock = engine_lock(engine)
    holder = engine.connect()
    holder.execute(text("INSERT INTO arrivals VALUES (-1)"))  # BEGIN IMMEDIATE: holds the lock

    def write(n: int) -> None:
        with engine.connect() as connection:
            connection.execute(text("INSERT INTO arrivals VALUES (:n)"), {"n": n})
            connection.commit()

    threads = []
    for n in range(WRITERS):
        thread = threading.Thread(target=write, args=(n,))
        thread.start()
        threads.append(thread)
        wait_until(lambda: lock.waiting == len(threads))
    holder.commit()
    holder.close()
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        rows = [r[0] for r in connection.execute(text("SELECT n FROM arrivals ORDER BY rowid"))]
    assert rows == [-1, *range(WRITERS)]
    assert lock.waiting == 0
    assert lock.acquire(0)
    lock.release()


@pytest.mark.parametrize("ending", ["rollback", "close", "failed statement"])
def test_every_end_of_a_write_gives_the_lock_back(engine: Engine, ending: str) -> None:
    lock = engine_lock(engine)
    connection = engine.connect()
    connection.execute(text("INSERT INTO arrivals VALUES (1)"))
    assert not lock.acquire(0)
    if ending == "rollback":
        connection.rollback()
    elif ending == "failed statement":
        with pytest.raises(Exception, match="no such table"):
            connection.execute(text("INSERT INTO missing VALUES (1)"))
        connection.rollback()
    connection.close()
    assert lock.acquire(0)
    lock.release()


def test_read_only_units_neither_queue_nor_hold_the_lock(engine: Engine) -> None:
    lock = engine_lock(engine)
    factory = sql_unit_of_work_factory(engine)
    with engine.connect() as writer:
        writer.execute(text("INSERT INTO arrivals VALUES (1)"))  # holds the write lock
        read: list[int] = []

        def reader() -> None:
            with factory.read_only() as unit:
                connection = unit._require_connection()
                read.append(connection.execute(text("SELECT count(*) FROM arrivals")).scalar_one())

        thread = threading.Thread(target=reader)
        thread.start()
        thread.join(PATIENCE_S)
        assert read == [0]
        assert lock.waiting == 0
        writer.rollback()
    with factory.read_only() as unit:
        unit._require_connection().execute(text("SELECT 1"))
        assert lock.acquire(0)  # a read in progress does not hold it
        lock.release()

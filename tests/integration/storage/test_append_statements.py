"""The event append runs no version query of its own (issue 22): the hash of the event it
chains to and the insert, two statements; a stale or future caller still gets the conflict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory, upgrade
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.errors import ConcurrencyError
from tests.contract.samples import stored_event


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

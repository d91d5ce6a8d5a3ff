"""The WorklistActionRepository contract over the fake, SQLite and PostgreSQL: exact round
trips, recording order, append-only (no update; the SQL table refuses UPDATE and DELETE by
trigger), refused duplicates and unknown patients, rollback."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.worklist_records import WorklistAction, WorklistActionKind
from msinfusion.errors import DuplicateRecord, RecordNotFound
from tests.contract import samples
from tests.contract.conftest import UnitOfWorkFactory, _empty_postgres

CET = timezone(timedelta(hours=1))
AT = datetime(2026, 3, 2, 9, 15, 30, 125000, tzinfo=CET)


def action(aid: str = "w-1", **changes: Any) -> WorklistAction:
    values: dict[str, Any] = {
        "id": aid,
        "patient_id": "p-1",
        "item_id": "monitoring:alemtuzumab_cbc:2026-03-01",
        "kind": WorklistActionKind.ASSIGNED,
        "assignee": "u-nurse",
        "reason": None,
        "recorded_at": AT,
        "recorded_by": "u-coordinator",
    }
    return WorklistAction(**{**values, **changes})


def _seed(factory: UnitOfWorkFactory) -> None:
    with factory() as uow:
        uow.patients.add(samples.patient("p-1"))
        uow.patients.add(samples.patient("p-2"))
        uow.commit()


def test_decisions_read_back_equal_in_recording_order(uow_factory: UnitOfWorkFactory) -> None:
    _seed(uow_factory)
    later = action(
        "w-0",
        kind=WorklistActionKind.RESOLVED,
        assignee=None,
        reason="TSH reviewed: repeat in 4 weeks",
        recorded_at=AT + timedelta(minutes=5),
    )
    other = action("w-2", patient_id="p-2")
    with uow_factory() as uow:
        for record in (later, action(), other):
            uow.worklist_actions.add(record)
        uow.commit()
    with uow_factory() as uow:
        everything = uow.worklist_actions.list()
        mine = uow.worklist_actions.list_for_patient("p-1")
    assert [a.id for a in everything] == ["w-1", "w-2", "w-0"]  # recorded_at, then id
    assert mine == [action(), later]
    assert mine[0].recorded_at.astimezone(UTC) == AT.astimezone(UTC)


def test_duplicates_and_unknown_patients_are_refused_naming_the_field(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        uow.worklist_actions.add(action())
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(DuplicateRecord) as duplicate:
            uow.worklist_actions.add(action())
        assert duplicate.value.field == "id"
        with pytest.raises(RecordNotFound) as unknown:
            uow.worklist_actions.add(action("w-9", patient_id="nobody"))
        assert unknown.value.field == "patient_id"


def test_decisions_are_append_only(uow_factory: UnitOfWorkFactory) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        uow.worklist_actions.add(action())
        uow.commit()
    with uow_factory() as uow, pytest.raises(DuplicateRecord):
        uow.worklist_actions.update(action(reason="changed"))  # type: ignore[attr-defined]


def test_a_rolled_back_decision_is_not_stored(uow_factory: UnitOfWorkFactory) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        uow.worklist_actions.add(action())  # no commit
    with uow_factory() as uow:
        assert uow.worklist_actions.list() == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_sql_table_refuses_update_and_delete(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "sqlite":
        path = tmp_path / "msinfusion.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = create_engine_for(sqlite_url(path))
    else:
        engine = request.getfixturevalue("postgres_engine")
        _empty_postgres(engine)
    factory = sql_unit_of_work_factory(engine)
    _seed(factory)
    with factory() as uow:
        uow.worklist_actions.add(action())
        uow.commit()
    for statement in ("UPDATE worklist_actions SET reason = 'x'", "DELETE FROM worklist_actions"):
        with engine.connect() as connection, pytest.raises(DBAPIError):
            connection.execute(text(statement))
    with factory() as uow:
        assert uow.worklist_actions.list() == [action()]
    if backend == "sqlite":
        engine.dispose()

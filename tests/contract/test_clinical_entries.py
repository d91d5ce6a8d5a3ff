"""The ClinicalEntryRepository contract over the fake, SQLite and PostgreSQL: exact round trips,
per-patient lists in recording order, refused duplicates and unknown patients, rollback; and on
the SQL back ends, the table itself refuses UPDATE and DELETE (append-only, migration 0003).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, StatementError

from msinfusion.adapters.storage import create_engine_for, sql_unit_of_work_factory
from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.application.records import ClinicalEntry, ClinicalEntryKind
from msinfusion.errors import DuplicateRecord, RecordNotFound
from tests.contract import samples
from tests.contract.conftest import UnitOfWorkFactory, _empty_postgres

CET = timezone(timedelta(hours=1))
RECORDED = datetime(2026, 3, 9, 10, 15, 30, 123456, tzinfo=CET)
DATA: dict[str, Any] = {
    "test": "JCV antibody index",
    "value": "0.9",  # a Decimal the caller wrote as a string
    "unit": None,
    "positive": False,
    "repeat": True,
    "count": 3,
    "ratio": 0.25,
    "by": {"lab": "Zentrallabor Köln", "methods": ["STRATIFY", {"assay": 2}], "notes": []},
}


def entry(eid: str = "e-1", patient_id: str = "p-1", **changes: Any) -> ClinicalEntry:
    values: dict[str, Any] = {
        "id": eid,
        "patient_id": patient_id,
        "kind": ClinicalEntryKind.LAB,
        "on": date(2026, 3, 6),
        "data": DATA,
        "recorded_at": RECORDED,
        "recorded_by": "u-doc",
    }
    return ClinicalEntry(**{**values, **changes})


def _seed(factory: UnitOfWorkFactory, *patient_ids: str) -> None:
    with factory() as uow:
        for pid in patient_ids or ("p-1",):
            uow.patients.add(samples.patient(pid))
        uow.commit()


def test_an_entry_reads_back_equal_in_every_field(uow_factory: UnitOfWorkFactory) -> None:
    _seed(uow_factory)
    entries = [
        entry(f"e-{kind.value}", kind=kind, data={**DATA, "kind": kind.value})
        for kind in ClinicalEntryKind
    ]
    with uow_factory() as uow:
        for each in entries:
            uow.clinical_entries.add(each)
        uow.commit()
    with uow_factory() as uow:
        stored = [uow.clinical_entries.get(each.id) for each in entries]
    assert stored == entries
    for got, wanted in zip(stored, entries, strict=True):
        assert type(got.kind) is ClinicalEntryKind
        assert got.recorded_at.utcoffset() is not None
        assert got.recorded_at == RECORDED
        assert list(got.data) == list(wanted.data)  # keys in the caller's order
        assert got.data["by"]["methods"] == ["STRATIFY", {"assay": 2}]
        assert got.data["positive"] is False
        assert type(got.data["count"]) is int
        assert type(got.data["ratio"]) is float


def test_list_for_patient_is_in_recording_order_and_only_that_patients(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _seed(uow_factory, "p-1", "p-2")
    utc_nine = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    first = entry("e-9", recorded_at=datetime(2026, 3, 9, 9, 30, tzinfo=CET))  # 08:30 UTC
    tied_a = entry("e-2", recorded_at=utc_nine)
    tied_b = entry("e-3", recorded_at=utc_nine.astimezone(CET))  # same instant, later id
    last = entry("e-1", recorded_at=utc_nine + timedelta(microseconds=1))
    other = entry("e-0", patient_id="p-2", recorded_at=utc_nine - timedelta(days=1))
    with uow_factory() as uow:
        for each in (last, tied_b, other, first, tied_a):
            uow.clinical_entries.add(each)
        uow.commit()
    with uow_factory() as uow:
        assert uow.clinical_entries.list_for_patient("p-1") == [first, tied_a, tied_b, last]
        assert uow.clinical_entries.list_for_patient("p-2") == [other]
        assert uow.clinical_entries.list_for_patient("p-unknown") == []


def test_list_of_kind_spans_patients_in_recording_order(uow_factory: UnitOfWorkFactory) -> None:
    _seed(uow_factory, "p-1", "p-2")
    level = ClinicalEntryKind.DRUG_LEVEL
    later = entry("e-1", kind=level, recorded_at=RECORDED + timedelta(hours=1))
    earlier = entry("e-2", patient_id="p-2", kind=level)
    lab = entry("e-3")
    with uow_factory() as uow:
        for each in (later, lab, earlier):
            uow.clinical_entries.add(each)
        uow.commit()
    with uow_factory() as uow:
        assert uow.clinical_entries.list_of_kind(level) == [earlier, later]
        assert uow.clinical_entries.list_of_kind(ClinicalEntryKind.LAB) == [lab]
        assert uow.clinical_entries.list_of_kind(ClinicalEntryKind.TDM_RECOMMENDATION) == []


def test_a_duplicate_id_is_refused_and_the_unit_stays_usable(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        uow.clinical_entries.add(entry("e-1"))
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(DuplicateRecord) as duplicate:
            uow.clinical_entries.add(entry("e-1", kind=ClinicalEntryKind.FINDING, data={}))
        assert duplicate.value.field == "id"
        uow.clinical_entries.add(entry("e-2"))
        with pytest.raises(DuplicateRecord):
            uow.clinical_entries.add(entry("e-2"))  # also within one uncommitted unit
        uow.commit()
    with uow_factory() as uow:
        assert uow.clinical_entries.get("e-1") == entry("e-1")
        assert [e.id for e in uow.clinical_entries.list_for_patient("p-1")] == ["e-1", "e-2"]


def test_an_unknown_patient_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        with pytest.raises(RecordNotFound) as missing:
            uow.clinical_entries.add(entry("e-1", patient_id="p-unknown"))
        assert missing.value.field == "patient_id"
        uow.clinical_entries.add(entry("e-2"))
        uow.commit()
    with uow_factory() as uow:
        assert [e.id for e in uow.clinical_entries.list_for_patient("p-1")] == ["e-2"]
        assert uow.clinical_entries.list_for_patient("p-unknown") == []


def test_an_unknown_id_is_not_found(uow_factory: UnitOfWorkFactory) -> None:
    _seed(uow_factory)
    with uow_factory() as uow, pytest.raises(RecordNotFound) as missing:
        uow.clinical_entries.get("e-unknown")
    assert missing.value.field == "id"


def test_leaving_without_commit_or_rolling_back_stores_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        uow.clinical_entries.add(entry("e-1"))
        assert uow.clinical_entries.get("e-1") == entry("e-1")  # visible inside the unit
    with uow_factory() as uow:
        uow.clinical_entries.add(entry("e-2"))
        uow.rollback()
        uow.commit()
    with uow_factory() as uow:
        assert uow.clinical_entries.list_for_patient("p-1") == []
        for eid in ("e-1", "e-2"):
            with pytest.raises(RecordNotFound):
                uow.clinical_entries.get(eid)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty migrated SQL database (the same ones ``uow_factory`` uses), for raw SQL."""
    if request.param == "sqlite":
        path = tmp_path / "msinfusion.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = create_engine_for(sqlite_url(path))
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    _empty_postgres(engine)
    yield engine


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE clinical_entries SET data = '{}'",
        "UPDATE clinical_entries SET recorded_by = 'u-other' WHERE id = 'e-1'",
        "DELETE FROM clinical_entries",
        "DELETE FROM clinical_entries WHERE id = 'e-1'",
    ],
)
def test_the_table_refuses_update_and_delete(sql_engine: Engine, statement: str) -> None:
    factory = sql_unit_of_work_factory(sql_engine)
    _seed(factory)
    with factory() as uow:
        uow.clinical_entries.add(entry("e-1"))
        uow.commit()
    with pytest.raises(DBAPIError, match="append-only"), sql_engine.begin() as connection:
        connection.execute(text(statement))
    with factory() as uow:
        assert uow.clinical_entries.list_for_patient("p-1") == [entry("e-1")]


@pytest.mark.parametrize(
    "data",
    [
        {"value": Decimal("0.9")},
        {"on": date(2026, 3, 6)},
        {"methods": ("a", "b")},
        {"nested": {1: "number key"}},
        {"ratio": float("nan")},
    ],
)
def test_sql_refuses_data_that_would_not_read_back_equal(
    sql_engine: Engine, data: dict[str, Any]
) -> None:
    factory = sql_unit_of_work_factory(sql_engine)
    _seed(factory)
    with factory() as uow:
        with pytest.raises(StatementError, match="data"):
            uow.clinical_entries.add(entry("e-1", data=data))
        uow.clinical_entries.add(entry("e-2"))
        uow.commit()
    with factory() as uow:
        assert uow.clinical_entries.list_for_patient("p-1") == [entry("e-2")]


def test_an_entry_is_stored_as_the_json_text_the_caller_gave(sql_engine: Engine) -> None:
    factory = sql_unit_of_work_factory(sql_engine)
    _seed(factory)
    with factory() as uow:
        uow.clinical_entries.add(entry("e-1", data={"z": 1, "a": "ä", "n": None}))
        uow.commit()
    with sql_engine.connect() as connection:
        row = connection.execute(text('SELECT kind, "on", data FROM clinical_entries')).one()
    assert tuple(row) in {
        ("lab", date(2026, 3, 6), '{"z": 1, "a": "ä", "n": null}'),
        ("lab", "2026-03-06", '{"z": 1, "a": "ä", "n": null}'),  # SQLite's text dates
    }

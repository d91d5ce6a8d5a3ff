"""The DosePreparationRepository contract over the fake, SQLite and PostgreSQL: exact round trips
(times, dates, decimals, statuses), an appointment's rows in decision order, refused duplicates
and unknown references, updates of stored rows only, rollback."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from msinfusion.application.pharmacy_records import DosePreparation, PreparationStatus
from msinfusion.errors import DuplicateRecord, RecordNotFound
from tests.contract import samples
from tests.contract.conftest import UnitOfWorkFactory

CET = timezone(timedelta(hours=1))
VERIFIED = datetime(2026, 3, 2, 7, 5, 30, 250000, tzinfo=CET)


def row(pid: str = "prep-1", **changes: Any) -> DosePreparation:
    values: dict[str, Any] = {
        "id": pid,
        "appointment_id": "a-1",
        "patient_id": "p-1",
        "protocol_id": "ocrelizumab-600-standard",
        "protocol_version": "1.0.0",
        "dose_number": 3,
        "order_id": None,
        "status": PreparationStatus.VERIFIED,
        "verified_by": "u-pharm",
        "verified_at": VERIFIED,
    }
    return DosePreparation(**{**values, **changes})


def _seed(factory: UnitOfWorkFactory) -> None:
    with factory() as uow:
        uow.patients.add(samples.patient("p-1"))
        uow.chairs.add(samples.chair("c-1"))
        uow.appointments.add(samples.appointment("a-1"))
        uow.commit()


def test_a_preparation_reads_back_equal_in_every_field(uow_factory: UnitOfWorkFactory) -> None:
    _seed(uow_factory)
    prepared = row(
        status=PreparationStatus.CHECKED,
        product="Ocrevus 300 mg/10 mL",
        lot="H0123",
        expiry=date(2027, 1, 31),
        prepared_volume_ml=Decimal("500.5"),
        diluent="sodium chloride 0.9%",
        prepared_at=VERIFIED + timedelta(minutes=20),
        prepared_by="u-pharm",
        checked_by="u-pharm-2",
        checked_at=VERIFIED + timedelta(minutes=25),
    )
    with uow_factory() as uow:
        uow.preparations.add(prepared)
        uow.commit()
    with uow_factory() as uow:
        found = uow.preparations.get("prep-1")
    assert found == prepared
    assert found.verified_at is not None
    assert found.verified_at.astimezone(UTC) == VERIFIED.astimezone(UTC)
    assert found.prepared_volume_ml == Decimal("500.5")


def test_an_appointment_s_rows_come_in_decision_order(uow_factory: UnitOfWorkFactory) -> None:
    _seed(uow_factory)
    later = row("prep-a", verified_at=VERIFIED + timedelta(hours=1))
    returned = row(
        "prep-z",
        status=PreparationStatus.RETURNED,
        verified_by=None,
        verified_at=None,
        returned_by="u-pharm",
        returned_at=VERIFIED,
        return_reason="dose changed",
    )
    with uow_factory() as uow:
        uow.preparations.add(later)
        uow.preparations.add(returned)
        uow.commit()
    with uow_factory() as uow:
        assert [r.id for r in uow.preparations.list_for_appointment("a-1")] == ["prep-z", "prep-a"]
        assert uow.preparations.list_for_appointment("a-2") == []
        assert [r.id for r in uow.preparations.list()] == ["prep-a", "prep-z"]


def test_duplicates_unknown_references_and_missing_rows_are_refused(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        uow.preparations.add(row())
        uow.commit()
    with uow_factory() as uow:
        with pytest.raises(DuplicateRecord):
            uow.preparations.add(row())
        with pytest.raises(RecordNotFound) as unknown:
            uow.preparations.add(row("prep-2", appointment_id="a-404"))
        assert unknown.value.field == "appointment_id"
        with pytest.raises(RecordNotFound):
            uow.preparations.update(row("prep-404"))
        with pytest.raises(RecordNotFound):
            uow.preparations.get("prep-404")


def test_an_update_is_stored_on_commit_and_undone_by_rollback(
    uow_factory: UnitOfWorkFactory,
) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        uow.preparations.add(row())
        uow.commit()
    checked = replace(row(), status=PreparationStatus.CHECKED, checked_by="u-2")
    with uow_factory() as uow:
        uow.preparations.update(checked)
        uow.rollback()
    with uow_factory() as uow:
        assert uow.preparations.get("prep-1").status is PreparationStatus.VERIFIED
        uow.preparations.update(checked)
        uow.commit()
    with uow_factory() as uow:
        assert uow.preparations.get("prep-1") == checked

"""Validating a clinical entry without storage: ``EntryContext`` hands the checks what they read,
and each kind reads only what it needs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from msinfusion.application.audit import Actor
from msinfusion.application.clinical_entry_input import EntryContext, checked_entry, entry_kind
from msinfusion.application.records import (
    ClinicalEntry,
    ClinicalEntryKind,
    Role,
    TherapyOrder,
)
from msinfusion.errors import InvalidCommand, PermissionDenied, RecordNotFound
from msinfusion.planning.courses import GivenDose

TODAY = date(2026, 3, 9)
ORDER = TherapyOrder(
    id="o-1",
    patient_id="p-1",
    therapy_id="ocrelizumab",
    start_date=date(2026, 1, 5),
    prescriber_id="u-doc",
)
OVERRIDE = ClinicalEntry(
    id="e-1",
    patient_id="p-1",
    kind=ClinicalEntryKind.OVERRIDE,
    on=TODAY,
    data={"gate_id": "hbv", "on": TODAY.isoformat(), "justification": "hepatology agrees"},
    recorded_at=datetime(2026, 3, 9, 8, tzinfo=UTC),
    recorded_by="u-doc",
)


def _context(role: Role = Role.NURSE, *, reads: list[str] | None = None) -> EntryContext:
    log = reads if reads is not None else []

    def find_order(order_id: str) -> TherapyOrder:
        log.append(f"order {order_id}")
        if order_id != ORDER.id:
            raise RecordNotFound(f"no order {order_id}", field="id")
        return ORDER

    def doses_given(order: TherapyOrder) -> tuple[GivenDose, ...]:
        log.append(f"given {order.id}")
        return (GivenDose(dose_number=1, on=date(2026, 1, 5)),)

    def entries() -> list[ClinicalEntry]:
        log.append("entries")
        return [OVERRIDE]

    return EntryContext(
        actor=Actor(user_id="u-1", username="a", role=role, at=datetime(2026, 3, 9, 9, tzinfo=UTC)),
        patient_id="p-1",
        today=TODAY,
        find_order=find_order,
        doses_given=doses_given,
        entries=entries,
    )


def test_a_lab_result_reads_nothing_stored() -> None:
    reads: list[str] = []
    item = {"test": "hbsag", "on": "2026-03-06", "positive": False}
    on, data = checked_entry(ClinicalEntryKind.LAB, item, _context(reads=reads))
    assert (on, data) == (date(2026, 3, 6), item)
    assert reads == []


def test_a_dose_given_elsewhere_is_checked_against_the_order_and_its_history() -> None:
    reads: list[str] = []
    item = {"order_id": "o-1", "dose_number": 2, "on": "2026-01-19"}
    on, data = checked_entry(ClinicalEntryKind.GIVEN_DOSE, item, _context(reads=reads))
    assert (on, data) == (date(2026, 1, 19), item)
    assert reads == ["order o-1", "given o-1"]
    with pytest.raises(InvalidCommand) as unknown:
        checked_entry(ClinicalEntryKind.GIVEN_DOSE, {**item, "order_id": "o-9"}, _context())
    assert unknown.value.field == "order_id"
    with pytest.raises(InvalidCommand) as repeated:  # dose 1 again: the history refuses it
        checked_entry(ClinicalEntryKind.GIVEN_DOSE, {**item, "dose_number": 1}, _context())
    assert repeated.value.field == "dose_number"


def test_retracting_an_override_is_a_physicians_act() -> None:
    item = {"entry_id": "e-1", "reason": "entered for the wrong gate"}
    with pytest.raises(PermissionDenied):
        checked_entry(ClinicalEntryKind.RETRACTION, item, _context(Role.NURSE))
    on, data = checked_entry(ClinicalEntryKind.RETRACTION, item, _context(Role.PHYSICIAN))
    assert (on, data) == (TODAY, item)


def test_an_unknown_kind_and_a_future_profile_answer_are_refused_by_field() -> None:
    with pytest.raises(InvalidCommand) as kind:
        entry_kind("x-ray")
    assert kind.value.field == "kind"
    with pytest.raises(InvalidCommand) as future:
        checked_entry(
            ClinicalEntryKind.PROFILE,
            {"can_become_pregnant": False, "on": "2026-03-10"},
            _context(),
        )
    assert future.value.field == "on"

"""The TOUCH Pre-infusion Patient Checklist as a clinical entry of kind ``programme-form``.

NOW = 2026-03-02 (tests/e2e/api/world.py). The natalizumab patient of tests/worklist_centre.py
had doses on 2026-01-05 and 2026-02-02; dose 3 is due today. The form's questions and rule are
ledger_rules.toml's [[form]] (TOUCH-12/13/14/16/18/19 of rems-and-label-rules.md): every
question answered before each infusion; "no" to step 1 or "yes" to Q1-Q3 means do not infuse.
"""

from __future__ import annotations

from typing import Any

import pytest

from msinfusion.adapters.web import Settings
from msinfusion.application.ledger import LedgerRow, LedgerStatus, PatientLedger
from msinfusion.application.ledger_rules import programme_form, programme_forms
from msinfusion.application.records import Role
from msinfusion.errors import InvalidCommand
from tests.e2e.api.world import World, actor_for, build_world
from tests.worklist_centre import mitoxantrone_patient, natalizumab_patient

FORM = "touch-pre-infusion-checklist"
ALL_CLEAR = {
    "authorized": True,
    "new_or_worsening_problem": False,
    "immune_condition": False,
    "immune_medicine": False,
}


def _world(jurisdiction: str | None = "US") -> World:
    return build_world(settings=Settings(jurisdiction=jurisdiction), clinical=False)


def _form(world: World, patient_id: str, order: str, **item: Any) -> str:
    body = {"form": FORM, "order_id": order, "answers": ALL_CLEAR, **item}
    entry = world.centre.clinical.record(
        actor_for(world, Role.NURSE), patient_id, "programme-form", body
    )
    return str(entry.id)


def _ledger(world: World, patient_id: str) -> PatientLedger:
    return world.centre.ledger.get(actor_for(world, Role.NURSE), patient_id)


def _rows(ledger: PatientLedger, rule: str) -> list[LedgerRow]:
    return [r for r in ledger.rows if r.rule_id == rule]


def test_the_form_is_cited_data_with_its_rule() -> None:
    form = programme_form(FORM)
    assert form is not None
    assert form in programme_forms()
    assert [q.id for q in form.questions] == list(ALL_CLEAR)
    assert [q.stop_answer for q in form.questions] == [False, True, True, True]
    assert "do not infuse" in form.rule
    assert "contact the prescriber" in form.rule
    assert form.submit_within_days == 1
    assert not form.verified  # the current form's wording was not readable
    assert all(q.sources[0].startswith("http") for q in form.questions)
    assert [q.verified for q in form.questions] == [True, False, False, False]


def test_each_dose_has_its_checklist_row_with_who_and_when() -> None:
    world = _world()
    patient, order = natalizumab_patient(world, "Synthetic Checklist 01")
    entry = _form(world, patient, order, dose_number=1, on="2026-01-05", submitted_on="2026-01-05")
    ledger = _ledger(world, patient)
    first, second = _rows(ledger, "TOUCH-12/13")
    assert (first.dose_number, first.due, first.status) == (1, first.due, LedgerStatus.RECORDED)
    assert first.due is not None
    assert first.due.isoformat() == "2026-01-05"
    assert first.answer == "Step 1 yes; Q1 no; Q2 no; Q3 no; sent 2026-01-05"
    assert first.entry_id == entry
    assert first.recorded_by == actor_for(world, Role.NURSE).user_id
    assert first.recorded_at is not None
    assert first.answers == tuple(ALL_CLEAR.items())
    assert not first.verified
    assert first.grade == "B"
    assert (second.dose_number, second.status, second.entry_id) == (2, LedgerStatus.MISSING, None)
    # The form's step 1 is the TOUCH-14 finding of that dose, the same entry (one record).
    touch14 = {r.dose_number: r for r in _rows(ledger, "TOUCH-14")}
    assert touch14[1].status is LedgerStatus.RECORDED
    assert touch14[1].entry_id == entry
    assert touch14[2].status is LedgerStatus.MISSING


def test_a_yes_answer_means_do_not_infuse_and_blocks_the_dose() -> None:
    world = _world()
    patient, order = natalizumab_patient(world, "Synthetic Checklist 02")
    answers = {**ALL_CLEAR, "new_or_worsening_problem": True}
    _form(world, patient, order, dose_number=3, on="2026-03-02", answers=answers, infused=False)
    (row,) = [r for r in _rows(_ledger(world, patient), "TOUCH-12/13") if r.dose_number == 3]
    assert row.status is LedgerStatus.STOP_ANSWER
    assert row.answer == (
        "Step 1 yes; Q1 yes; Q2 no; Q3 no; stop: do not infuse, contact the prescriber; not infused"
    )
    gates = _gates(world, patient)
    assert gates["touch_checklist"] == "fail"
    assert gates["touch_authorized"] == "pass"


def test_a_clear_checklist_today_passes_the_touch_gates_of_the_next_dose() -> None:
    world = _world()
    patient, order = natalizumab_patient(world, "Synthetic Checklist 03")
    before = _gates(world, patient)
    assert before["touch_authorized"] == before["touch_checklist"] == "missing"
    _form(world, patient, order, dose_number=3, on="2026-03-02")
    after = _gates(world, patient)
    assert after["touch_authorized"] == after["touch_checklist"] == "pass"
    assert after["natalizumab_immune_status"] == "pass"


def test_not_authorised_is_a_stop_answer() -> None:
    world = _world()
    patient, order = natalizumab_patient(world, "Synthetic Checklist 04")
    _form(
        world,
        patient,
        order,
        dose_number=3,
        on="2026-03-02",
        answers={**ALL_CLEAR, "authorized": False},
    )
    assert _gates(world, patient)["touch_authorized"] == "fail"


def test_late_and_unsent_checklists_are_said_and_a_retracted_one_counts_no_more() -> None:
    world = _world()
    patient, order = natalizumab_patient(world, "Synthetic Checklist 05")
    _form(world, patient, order, dose_number=1, on="2026-01-05", submitted_on="2026-01-08")
    second = _form(world, patient, order, dose_number=2, on="2026-02-02")
    first_row, second_row = _rows(_ledger(world, patient), "TOUCH-12/13")
    assert first_row.answer.endswith("sent 2026-01-08 (late)")  # 3 days after, limit 1
    assert second_row.answer.endswith("not sent within 1 day(s)")
    world.centre.clinical.record(
        actor_for(world, Role.NURSE),
        patient,
        "retraction",
        {"entry_id": second, "reason": "wrong patient"},
    )
    assert _rows(_ledger(world, patient), "TOUCH-12/13")[1].status is LedgerStatus.MISSING


def test_the_checklist_is_a_us_programme_rule() -> None:
    world = _world("EU")
    patient, _ = natalizumab_patient(world, "Synthetic Checklist 06")
    assert _rows(_ledger(world, patient), "TOUCH-12/13") == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"form": "touch-nothing"}, "form"),
        (
            {"answers": {k: v for k, v in ALL_CLEAR.items() if k != "immune_medicine"}},
            "answers.immune_medicine",
        ),
        ({"answers": {**ALL_CLEAR, "authorized": "yes"}}, "answers.authorized"),
        ({"answers": {**ALL_CLEAR, "mood": False}}, "answers.mood"),
        ({"answers": [True, False]}, "answers"),
        ({"on": "2026-03-03"}, "on"),
        ({"on": "03/02/2026"}, "on"),
        ({"dose_number": 0}, "dose_number"),
        ({"submitted_on": "2026-03-01"}, "submitted_on"),
        ({"infused": "maybe"}, "infused"),
        ({"order_id": "order-none"}, "order_id"),
        ({"signature": "x"}, "signature"),
    ],
)
def test_bad_checklists_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    world = _world()
    patient, order = natalizumab_patient(world, "Synthetic Checklist 07")
    item = {"dose_number": 3, "on": "2026-03-02", **change}
    with pytest.raises(InvalidCommand) as refused:
        _form(world, patient, order, **item)
    assert refused.value.field == field
    assert (
        world.centre.clinical.list_entries(actor_for(world, Role.NURSE), patient)[-1].kind.value
        != "programme-form"
    )


def test_the_checklist_needs_an_order_of_its_therapy() -> None:
    world = _world()
    patient, order = mitoxantrone_patient(world, "Synthetic Checklist 08")
    with pytest.raises(InvalidCommand) as refused:
        _form(world, patient, order, dose_number=2, on="2026-03-02")
    assert refused.value.field == "order_id"


def _gates(world: World, patient_id: str) -> dict[str, str]:
    courses = world.centre.clinical.courses(actor_for(world, Role.NURSE), patient_id)
    (course,) = courses.courses
    return {g.gate_id: g.status.value for g in course.check.gates}

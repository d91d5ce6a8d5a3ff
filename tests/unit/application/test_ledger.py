"""The REMS / TOUCH ledger per programme rule (ledger_rules.toml), with an export golden file.

NOW = 2026-03-02. Patients come from tests/worklist_centre.py: natalizumab doses on 2026-01-05
and 02-02; alemtuzumab course 1 on 2025-12-01..05. Findings and results are recorded through
the clinical-entry use case, as a nurse would; every row names who recorded its evidence, when.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from msinfusion.adapters.web import Settings
from msinfusion.adapters.web.routes_worklist import ledger_csv
from msinfusion.application.ledger import LedgerRow, PatientLedger
from msinfusion.application.ledger_rules import ledger_requirements
from msinfusion.application.records import Role
from msinfusion.errors import InvalidCourseOrder, PermissionDenied
from tests.e2e.api.world import World, actor_for, build_world
from tests.worklist_centre import alemtuzumab_patient, natalizumab_patient

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "ledger_alemtuzumab_us.csv"


def _world(jurisdiction: str | None) -> World:
    return build_world(settings=Settings(jurisdiction=jurisdiction), clinical=False)


def _record(world: World, patient_id: str, kind: str, **item: Any) -> str:
    entry = world.centre.clinical.record(actor_for(world, Role.NURSE), patient_id, kind, item)
    return str(entry.id)


def _finding(world: World, patient_id: str, name: str, on: str, present: bool) -> str:
    return _record(world, patient_id, "finding", name=name, on=on, present=present)


def _ledger(world: World, patient_id: str, **period: date) -> PatientLedger:
    return world.centre.ledger.get(actor_for(world, Role.NURSE), patient_id, **period)


def _rows(ledger: PatientLedger, rule: str) -> list[LedgerRow]:
    return [r for r in ledger.rows if r.rule_id == rule]


def _touch_patient(world: World) -> tuple[str, str]:
    patient_id, order_id = natalizumab_patient(world, "Synthetic Ledger 01")
    for on in ("2026-01-05", "2026-02-02"):
        _finding(world, patient_id, "touch_authorized", on, True)
    _finding(world, patient_id, "immunocompromised", "2026-01-05", False)
    _finding(world, patient_id, "immunosuppressant_current", "2026-01-05", False)
    _finding(world, patient_id, "touch_checklist_stop", "2026-01-05", False)
    _finding(world, patient_id, "touch_checklist_stop", "2026-02-02", True)
    return patient_id, order_id


def test_touch_checklist_answers_per_dose_with_who_and_when() -> None:
    world = _world("US")
    patient_id, _ = _touch_patient(world)
    ledger = _ledger(world, patient_id)
    nurse = world.user_ids[Role.NURSE]
    authorised = _rows(ledger, "TOUCH-14")
    assert [(r.dose_number, r.status.value, r.answer) for r in authorised] == [
        (1, "recorded", "yes"),
        (2, "recorded", "yes"),
    ]
    assert all(r.recorded_by == nurse and r.recorded_at is not None for r in authorised)
    checklist = _rows(ledger, "TOUCH-12/19")
    assert [(r.dose_number, r.status.value, r.answer) for r in checklist] == [
        (1, "recorded", "no"),
        (2, "stop-answer", "yes"),  # a "yes" stops the infusion (TOUCH-19)
    ]
    assert not checklist[0].verified  # the checklist wording is grade C
    q2 = _rows(ledger, "TOUCH-18 Q2")
    assert [(r.dose_number, r.status.value) for r in q2] == [(1, "recorded"), (2, "missing")]


def test_touch_re_authorisation_dates_follow_the_programme() -> None:
    """TOUCH-05/06: 3 and 6 months after the first infusion, then every 6 months: 2026-04-05
    (2026-01-05 + 3 months), then 2026-07-05 (+ 6 months)."""
    world = _world("US")
    patient_id, _ = natalizumab_patient(world, "Synthetic Ledger 02")
    rows = _rows(_ledger(world, patient_id), "TOUCH-05/06")
    assert rows[0].due == date(2026, 4, 5)
    assert rows[0].status.value == "due"  # the first slot is open: an assessment today fills it
    assert rows[1].due == date(2026, 7, 5)
    assert "REMS=63" in rows[0].source


def test_touch_discontinuation_reports_at_stop_and_six_months_later() -> None:
    """TOUCH-07: the last dose given (2026-02-02) is the stop; reports due then and on
    2026-08-02. A report recorded on 2026-02-20 is the first one."""
    world = _world("US")
    patient_id, order_id = natalizumab_patient(world, "Synthetic Ledger 03")
    assert _rows(_ledger(world, patient_id), "TOUCH-07") == []  # active: no report due
    world.centre.records.set_order_active(actor_for(world, Role.PHYSICIAN), order_id, active=False)
    entry = _record(
        world, patient_id, "lab", test="rems_assessment", on="2026-02-20", positive=False
    )
    rows = _rows(_ledger(world, patient_id), "TOUCH-07")
    assert [(r.due, r.status.value, r.entry_id) for r in rows] == [
        (date(2026, 2, 2), "recorded", entry),
        (date(2026, 8, 2), "planned", None),
    ]


def test_eu_natalizumab_has_the_2_year_re_information_and_no_touch() -> None:
    world = _world("EU")
    patient_id, _ = _touch_patient(world)
    ledger = _ledger(world, patient_id)
    assert {r.rule_id for r in ledger.rows} == {"NTZEU-01/02"}
    (row,) = ledger.rows
    assert (row.due, row.status.value) == (date(2028, 1, 5), "planned")  # 2026-01-05 + 24 months


def test_an_unknown_jurisdiction_keeps_every_programme() -> None:
    world = _world(None)
    patient_id, _ = _touch_patient(world)
    rules = {r.rule_id for r in _ledger(world, patient_id).rows}
    assert {"TOUCH-14", "TOUCH-05/06", "NTZEU-01/02"} <= rules


def _lemtrada_patient(world: World) -> str:
    patient_id, _ = alemtuzumab_patient(world, "Synthetic Ledger 04")
    _finding(world, patient_id, "lemtrada_rems_authorized", "2025-11-20", True)
    _finding(world, patient_id, "lemtrada_rems_authorized", "2025-12-01", True)
    _record(world, patient_id, "lab", test="cbc_diff", on="2025-10-15", abnormal=False)
    _record(world, patient_id, "lab", test="creatinine", on="2025-11-20", value="0.9")
    _record(world, patient_id, "lab", test="urinalysis", on="2025-11-20", abnormal=False)
    _record(world, patient_id, "lab", test="cbc_diff", on="2026-01-02", abnormal=False)
    return patient_id


def test_lemtrada_enrolment_authorisation_and_lab_submissions() -> None:
    world = _world("US")
    patient_id = _lemtrada_patient(world)
    ledger = _ledger(world, patient_id)
    (enrolled,) = _rows(ledger, "LEMUS-03")
    assert (enrolled.due, enrolled.status.value, enrolled.occurred_on) == (
        date(2025, 12, 1),
        "recorded",
        date(2025, 12, 1),  # the answer standing on dose 1's day
    )
    per_dose = _rows(ledger, "LEMUS-05")
    assert [(r.dose_number, r.status.value) for r in per_dose] == [
        (1, "recorded"),
        *((n, "missing") for n in range(2, 6)),
    ]
    baseline = {r.answer.split(":")[0]: r.status.value for r in _rows(ledger, "LEMUS-03 baseline")}
    # 2025-10-15 is 47 days before dose 1: outside the 30 days of LEMUS-03.
    assert baseline == {
        "CBC with differential": "missing",
        "Serum creatinine": "recorded",
        "Urinalysis with cell counts": "recorded",
    }
    cbc = [r for r in _rows(ledger, "LEMUS-10") if r.answer == "CBC with differential"]
    assert [(r.due, r.status.value) for r in cbc[:4]] == [
        (date(2025, 12, 1), "recorded"),
        (date(2026, 1, 1), "recorded"),  # the result of 2026-01-02
        (date(2026, 2, 1), "missing"),
        (date(2026, 3, 1), "missing"),
    ]
    # Course 2 is planned 2026-12-01..03; 48 months after its last day is 2030-12-03: monthly
    # from 2025-12-01 that is 61 slots, the last on 2030-12-01 (LEMUS-10, LEMUS-18).
    assert (len(cbc), cbc[-1].due) == (61, date(2030, 12, 1))


def _normalised(text: str, world: World) -> str:
    """Random ids made stable: users by role, orders and entries numbered in order seen."""
    for role, user_id in world.user_ids.items():
        text = text.replace(user_id, f"user-{role.value}")
    for prefix in ("order", "entry"):
        seen: dict[str, str] = {}
        text = re.sub(
            rf"{prefix}-[0-9a-f]+",
            lambda m, s=seen, p=prefix: s.setdefault(m.group(0), f"{p}-{len(s) + 1}"),
            text,
        )
    return text


def test_the_csv_export_of_a_period_matches_the_golden_file() -> None:
    world = _world("US")
    patient_id = _lemtrada_patient(world)
    ledger = _ledger(world, patient_id, since=date(2025, 10, 1), until=date(2026, 1, 31))
    assert all(date(2025, 10, 1) <= r.on <= date(2026, 1, 31) for r in ledger.rows if r.on)
    text = _normalised(ledger_csv(ledger), world)
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_bad_periods_and_roles_are_refused() -> None:
    world = _world("US")
    patient_id, _ = natalizumab_patient(world, "Synthetic Ledger 05")
    with pytest.raises(InvalidCourseOrder) as bad:
        _ledger(world, patient_id, since=date(2026, 3, 1), until=date(2026, 2, 1))
    assert bad.value.field == "until"
    with pytest.raises(PermissionDenied):
        world.centre.ledger.get(actor_for(world, Role.ADMIN), patient_id)


def test_every_requirement_is_cited_and_graded() -> None:
    for requirement in ledger_requirements():
        assert requirement.sources
        assert all(s.startswith("http") for s in requirement.sources)
        assert requirement.grade in {"A", "B", "C"}
        assert requirement.jurisdictions <= {"US", "EU"}
        assert requirement.grade != "C" or not requirement.verified

"""Order discontinuation (migration 0015): ``POST /api/orders/{id}/discontinue`` and the
follow-up it triggers on the worklist and the ledger, hand-checked.

NOW = 2026-03-02 (tests/e2e/api/world.py); patients of tests/worklist_centre.py:

* natalizumab, doses 2026-01-05 and 02-02, discontinued on 2026-02-16. TOUCH-07
  (ledger_rules.toml; rems-and-label-rules.md, timing A): a discontinuation report at the stop,
  2026-02-16 (overdue today), and 6 months after it, 2026-08-16 (outside the default 4-week
  window, listed with ``due_before=2026-09-01``). No dose 3, no dose-3 gates any more.
* alemtuzumab, course 1 on 2025-12-01..05, discontinued on 2026-01-10 (course 2 never given):
  monthly CBC, creatinine, urinalysis continue to 48 months after the last infusion *given*
  (LEMUS-10): the last CBC slot is 2029-12-01 (2025-12-05 + 48 months = 2029-12-05), not
  2030-12-01 (48 months after the planned course 2). CBC 2026-03-01 is still overdue today.
"""

from __future__ import annotations

from typing import Any

import pytest

from msinfusion.adapters.web import Settings
from msinfusion.application.records import Role
from tests.e2e.api.world import World, actor_for, build_world
from tests.worklist_centre import alemtuzumab_patient, natalizumab_patient


def _world() -> World:
    return build_world(settings=Settings(jurisdiction="US"), clinical=False)


def _stop(world: World, order: str, on: str, role: Role = Role.PHYSICIAN, **extra: Any) -> Any:
    body = {"discontinued_on": on, "reason": "PML risk: switched therapy", **extra}
    return world.request(role, "POST", f"/api/orders/{order}/discontinue", json=body)


def _items(world: World, patient: str, **params: str) -> dict[str, dict[str, Any]]:
    body = world.request(Role.NURSE, "GET", "/api/worklist", params=params).json()
    return {i["item_id"]: i for i in body["items"] if i["patient_id"] == patient}


def test_discontinuing_stores_the_day_and_is_audited() -> None:
    world = _world()
    _, order = natalizumab_patient(world, "Synthetic Stop 01")
    answer = _stop(world, order, "2026-02-16")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "discontinued"
    assert body["active"] is False
    assert body["discontinued_on"] == "2026-02-16"
    assert body["status_reason"] == "PML risk: switched therapy"
    assert world.request(Role.NURSE, "GET", f"/api/orders/{order}").json()["discontinued_on"] == (
        "2026-02-16"
    )
    audit = world.request(Role.ADMIN, "GET", "/api/audit").json()
    assert (world.user_ids[Role.PHYSICIAN], "order.discontinue", order, "ok") in [
        (e["user_id"], e["action"], e["resource_id"], e["outcome"]) for e in audit
    ]
    again = _stop(world, order, "2026-02-16")
    assert again.status_code == 422
    assert again.json()["field"] == "status"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"discontinued_on": "2026-03-03", "reason": "x"}, "discontinued_on"),  # tomorrow
        ({"discontinued_on": "2025-12-31", "reason": "x"}, "discontinued_on"),  # before start
        ({"discontinued_on": "16/02/2026", "reason": "x"}, "discontinued_on"),
        ({"discontinued_on": "2026-02-16", "reason": ""}, "reason"),
        ({"discontinued_on": "2026-02-16"}, "reason"),
        ({"reason": "x"}, "discontinued_on"),
        ({"discontinued_on": "2026-02-16", "reason": "x", "when": "now"}, "when"),
    ],
)
def test_bad_discontinuations_are_422_naming_the_field(body: dict[str, Any], field: str) -> None:
    world = _world()
    _, order = natalizumab_patient(world, "Synthetic Stop 02")
    answer = world.request(Role.PHYSICIAN, "POST", f"/api/orders/{order}/discontinue", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert world.request(Role.NURSE, "GET", f"/api/orders/{order}").json()["active"] is True


def test_only_a_physician_discontinues_and_an_unknown_order_is_404() -> None:
    world = _world()
    _, order = natalizumab_patient(world, "Synthetic Stop 03")
    assert _stop(world, order, "2026-02-16", role=Role.NURSE).status_code == 403
    assert _stop(world, "order-none", "2026-02-16").status_code == 404


def test_a_stopped_natalizumab_course_asks_for_the_touch_discontinuation_reports() -> None:
    world = _world()
    patient, order = natalizumab_patient(world, "Synthetic Stop 04")
    before = _items(world, patient)
    assert f"dose:{order}:3" in before
    _stop(world, order, "2026-02-16")
    items = _items(world, patient)
    assert not any(i.startswith(("dose:", "gate:")) for i in items)
    stop_report = items[f"follow-up:{order}:TOUCH-07:2026-02-16"]
    assert (stop_report["kind"], stop_report["status"]) == ("follow-up", "overdue")
    assert stop_report["test"] == "rems_assessment"
    assert stop_report["source"].startswith("https://www.accessdata.fda.gov/")
    later = _items(world, patient, due_before="2026-09-01")
    assert later[f"follow-up:{order}:TOUCH-07:2026-08-16"]["status"] == "upcoming"
    ledger = world.request(Role.NURSE, "GET", f"/api/patients/{patient}/ledger").json()
    reports = [(r["due"], r["status"]) for r in ledger["rows"] if r["rule_id"] == "TOUCH-07"]
    assert reports == [("2026-02-16", "missing"), ("2026-08-16", "planned")]
    # The report of the stop is recorded as its result: the item closes, the ledger has it.
    world.centre.clinical.record(
        actor_for(world, Role.NURSE),
        patient,
        "lab",
        {"test": "rems_assessment", "on": "2026-03-02", "abnormal": False},
    )
    assert f"follow-up:{order}:TOUCH-07:2026-02-16" not in _items(world, patient)
    ledger = world.request(Role.NURSE, "GET", f"/api/patients/{patient}/ledger").json()
    assert [r["status"] for r in ledger["rows"] if r["rule_id"] == "TOUCH-07"] == [
        "recorded",
        "planned",
    ]


def test_a_stopped_alemtuzumab_course_is_monitored_to_48_months_after_the_last_infusion() -> None:
    world = _world()
    patient, order = alemtuzumab_patient(world, "Synthetic Stop 05")
    _stop(world, order, "2026-01-10")
    items = _items(world, patient)
    cbc = items["monitoring:alemtuzumab_cbc:2026-03-01"]
    assert (cbc["status"], cbc["missed"]) == ("overdue", 3)
    assert not any(i.startswith(("dose:", "gate:")) for i in items)
    ledger = world.request(Role.NURSE, "GET", f"/api/patients/{patient}/ledger").json()
    dues = [r["due"] for r in ledger["rows"] if r["rule_id"] == "LEMUS-10"]
    assert max(dues) == "2029-12-01"
    assert len(dues) == 3 * 49  # CBC, creatinine, urinalysis: 2025-12-01 .. 2029-12-01

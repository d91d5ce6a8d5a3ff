"""Therapy rules through the API: the centre's jurisdiction, JCV serostatus, the new record
entries (REMS authorisation, stated prior mitoxantrone) and the gates they decide.

NOW = 2026-03-02 (world.py). Each test builds a users-only world with its own centre setting
(``Settings.jurisdiction``, ``MSINFUSION_JURISDICTION``) and adds synthetic patients.
"""

from __future__ import annotations

from typing import Any

from msinfusion.adapters.web import Settings
from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, World, actor_for, build_world

TODAY = NOW.date().isoformat()
TOUCH = {"touch_authorized", "touch_checklist"}


def _world(jurisdiction: str | None) -> World:
    return build_world(settings=Settings(jurisdiction=jurisdiction), clinical=False)


def _patient_on(world: World, therapy_id: str, **options: str) -> str:
    patient = world.centre.records.add_patient(
        actor_for(world, Role.NURSE), display_name="Synthetic Patient 30", synthetic=True
    )
    world.centre.records.add_order(
        actor_for(world, Role.PHYSICIAN),
        patient_id=patient.id,
        therapy_id=therapy_id,
        start_date=NOW.date(),
        options=tuple(options.items()),
    )
    return patient.id


def _record(world: World, patient_id: str, kind: str, item: dict[str, Any], role: Role) -> Any:
    return world.request(
        role,
        "POST",
        f"/api/patients/{patient_id}/clinical-entries",
        json={"kind": kind, "item": item},
    )


def _check(world: World, patient_id: str) -> dict[str, Any]:
    response = world.request(
        Role.PHYSICIAN, "POST", f"/api/patients/{patient_id}/course-check", json={"as_of": TODAY}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _gates(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["gate_id"]: g for g in view["gates"]}


def test_an_eu_centre_has_no_touch_gates_unless_the_order_says_us() -> None:
    eu = _world("EU")
    view = _check(eu, _patient_on(eu, "natalizumab"))
    assert view["calendar"]["jurisdiction"] == "EU"
    assert not set(_gates(view)) & TOUCH
    assert "natalizumab_immune_status" in _gates(view)
    us_order = _check(eu, _patient_on(eu, "natalizumab", jurisdiction="US"))
    assert set(_gates(us_order)) >= TOUCH
    unknown = _world(None)
    assert set(_gates(_check(unknown, _patient_on(unknown, "natalizumab")))) >= TOUCH


def test_a_jcv_index_without_serostatus_is_indeterminate_with_no_risk_number() -> None:
    world = _world("US")
    patient_id = _patient_on(world, "natalizumab")
    entry = {"test": "anti_jcv", "on": TODAY, "value": 0.3, "assay": "STRATIFY JCV DxSelect"}
    assert _record(world, patient_id, "lab", entry, Role.NURSE).status_code == 201
    profile = {"prior_immunosuppressant": False, "on": TODAY}
    assert _record(world, patient_id, "profile", profile, Role.NURSE).status_code == 201
    view = _check(world, patient_id)
    jcv = _gates(view)["natalizumab_anti_jcv"]
    assert jcv["status"] == "missing"
    assert "indeterminate" in jcv["reason"]
    assert view["risks"]["pml"]["risk_per_1000"] is None
    assert view["risks"]["pml"]["band"]["row"] == "serostatus-indeterminate"


def test_immune_status_findings_and_a_us_override_are_recorded() -> None:
    world = _world("US")
    patient_id = _patient_on(world, "natalizumab")
    for name, present in (("immunocompromised", False), ("immunosuppressant_current", True)):
        item = {"name": name, "on": TODAY, "present": present}
        assert _record(world, patient_id, "finding", item, Role.NURSE).status_code == 201
    assert _gates(_check(world, patient_id))["natalizumab_immune_status"]["blocks"] is True
    override = {"gate_id": "natalizumab_immune_status", "on": TODAY, "justification": "reviewed"}
    assert _record(world, patient_id, "override", override, Role.PHYSICIAN).status_code == 201
    gate = _gates(_check(world, patient_id))["natalizumab_immune_status"]
    assert (gate["status"], gate["blocks"], gate["override"]["justification"]) == (
        "fail",
        False,
        "reviewed",
    )


def test_lemtrada_rems_authorisation_is_a_finding_a_nurse_records() -> None:
    world = _world("US")
    patient_id = _patient_on(world, "alemtuzumab")
    assert _gates(_check(world, patient_id))["alemtuzumab_rems_authorized"]["status"] == "missing"
    item = {"name": "lemtrada_rems_authorized", "on": TODAY, "present": True}
    assert _record(world, patient_id, "finding", item, Role.NURSE).status_code == 201
    view = _check(world, patient_id)
    assert _gates(view)["alemtuzumab_rems_authorized"]["status"] == "pass"
    assert "alemtuzumab_eu_contraindications" not in _gates(view)
    assert any(s["item_id"] == "alemtuzumab_alt" and not s["verified"] for s in view["monitoring"])


def test_prior_mitoxantrone_must_be_stated_and_eu_refuses_re_treatment() -> None:
    world = _world("EU")
    patient_id = _patient_on(world, "mitoxantrone")
    gates = _gates(_check(world, patient_id))
    assert gates["mitoxantrone_cumulative"]["status"] == "missing"
    assert gates["mitoxantrone_no_retreatment"]["status"] == "missing"
    bad = {"test": "prior_mitoxantrone_mg_per_m2", "on": TODAY, "value": -1}
    refused = _record(world, patient_id, "lab", bad, Role.PHYSICIAN)
    assert refused.status_code == 422
    assert refused.json()["field"] == "value"
    stated = {"test": "prior_mitoxantrone_mg_per_m2", "on": TODAY, "value": 12}
    assert _record(world, patient_id, "lab", stated, Role.PHYSICIAN).status_code == 201
    view = _check(world, patient_id)
    gates = _gates(view)
    assert (gates["mitoxantrone_no_retreatment"]["status"], view["blocked"]) == ("fail", True)
    assert gates["mitoxantrone_no_retreatment"]["overridable"] is False
    assert gates["mitoxantrone_cumulative"]["reason"] == "24 of 72 mg/m2 after this dose"
    override = {"gate_id": "mitoxantrone_no_retreatment", "on": TODAY, "justification": "no"}
    assert _record(world, patient_id, "override", override, Role.PHYSICIAN).status_code == 422

"""The TOUCH Pre-infusion Patient Checklist over HTTP: the JSON API, the ledger (JSON and CSV)
and the nurse's form on the patient page (TestClient). NOW = 2026-03-02; the natalizumab
patient of tests/worklist_centre.py had doses on 2026-01-05 and 2026-02-02 (dose 3 due today).
"""

from __future__ import annotations

import csv
import io
import re

from msinfusion.adapters.web import Settings
from msinfusion.application.records import Role
from tests.e2e.api.world import World, actor_for, build_world
from tests.unit.adapters.web.test_ui_routes import sign_in
from tests.worklist_centre import natalizumab_patient

ANSWERS = {
    "authorized": True,
    "new_or_worsening_problem": False,
    "immune_condition": False,
    "immune_medicine": False,
}


def _world() -> tuple[World, str, str]:
    world = build_world(settings=Settings(jurisdiction="US"), clinical=False)
    patient, order = natalizumab_patient(world, "Synthetic Checklist API")
    return world, patient, order


def _post(world: World, patient: str, item: dict[str, object]) -> object:
    return world.request(
        Role.NURSE,
        "POST",
        f"/api/patients/{patient}/clinical-entries",
        json={"kind": "programme-form", "item": item},
    )


def test_the_checklist_through_the_api_is_a_ledger_row_in_json_and_csv() -> None:
    world, patient, order = _world()
    item = {
        "form": "touch-pre-infusion-checklist",
        "order_id": order,
        "dose_number": 2,
        "on": "2026-02-02",
        "answers": ANSWERS,
        "infused": True,
        "submitted_on": "2026-02-03",
    }
    answer = _post(world, patient, item)
    assert answer.status_code == 201, answer.text  # type: ignore[attr-defined]
    entry = answer.json()  # type: ignore[attr-defined]
    assert entry["kind"] == "programme-form"
    assert entry["data"]["answers"] == ANSWERS
    ledger = world.request(Role.VIEWER, "GET", f"/api/patients/{patient}/ledger").json()
    rows = [r for r in ledger["rows"] if r["rule_id"] == "TOUCH-12/13"]
    assert [(r["dose_number"], r["status"]) for r in rows] == [(1, "missing"), (2, "recorded")]
    assert rows[1]["answers"] == ANSWERS
    assert rows[1]["entry_id"] == entry["id"]
    assert rows[1]["answer"] == "Step 1 yes; Q1 no; Q2 no; Q3 no; sent 2026-02-03"
    assert rows[1]["recorded_by"] == actor_for(world, Role.NURSE).user_id
    other = next(r for r in ledger["rows"] if r["rule_id"] == "TOUCH-14")
    assert other["answers"] is None  # the key is added to every row, null outside forms
    exported = world.request(
        Role.NURSE, "GET", f"/api/patients/{patient}/ledger", params={"format": "csv"}
    )
    lines = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["rule_id"] == "TOUCH-12/13"]
    assert [line["status"] for line in lines] == ["missing", "recorded"]
    assert lines[1]["answer"] == rows[1]["answer"]
    assert lines[1]["entry_id"] == entry["id"]


def test_a_bad_checklist_is_422_naming_the_field() -> None:
    world, patient, order = _world()
    partial = {k: v for k, v in ANSWERS.items() if k != "immune_condition"}
    item = {
        "form": "touch-pre-infusion-checklist",
        "order_id": order,
        "dose_number": 3,
        "on": "2026-03-02",
        "answers": partial,
    }
    answer = _post(world, patient, item)
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert answer.json()["field"] == "answers.immune_condition"  # type: ignore[attr-defined]


def test_a_nurse_fills_the_checklist_on_the_patient_page() -> None:
    world, patient, order = _world()
    token = sign_in(world, Role.NURSE)
    page = world.client.get(f"/patients/{patient}")
    assert page.status_code == 200
    form = re.search(r'<form[^>]*data-form="programme-form".*?</form>', page.text, re.DOTALL)
    assert form, "the checklist form is on the page of a natalizumab patient (US)"
    html = form.group(0)
    assert "TOUCH Pre-infusion Patient Checklist" in html
    assert "do not infuse" in html
    assert "unverified" in html
    assert all(f'name="answer_{q}"' in html for q in ANSWERS)
    fields = {
        "csrf_token": token,
        "form": "touch-pre-infusion-checklist",
        "order_id": order,
        "dose_number": "3",
        "on": "2026-03-02",
        "infused": "",
        "submitted_on": "",
        "answer_authorized": "yes",
        "answer_new_or_worsening_problem": "no",
        "answer_immune_condition": "no",
    }
    refused = world.client.post(f"/patients/{patient}/clinical/programme-form", data=fields)
    assert refused.status_code == 422
    assert '<span data-testid="error-field">answers.immune_medicine</span>' in refused.text
    assert 'value="yes" required checked' in refused.text  # what was chosen is kept
    stored = world.client.post(
        f"/patients/{patient}/clinical/programme-form",
        data={**fields, "answer_immune_medicine": "no"},
        follow_redirects=False,
    )
    assert stored.status_code == 303, stored.text
    entries = world.centre.clinical.list_entries(actor_for(world, Role.NURSE), patient)
    (form_entry,) = [e for e in entries if e.kind.value == "programme-form"]
    assert form_entry.data["answers"] == ANSWERS
    listed = world.client.get(f"/patients/{patient}").text
    assert "touch-pre-infusion-checklist for dose 3" in listed

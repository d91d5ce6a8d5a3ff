"""The worklist and ledger pages through the TestClient (a signed-in browser session): the
filters, the row forms (CSRF, refusal shown, nothing stored), paging, the ledger's print view,
PDF and CSV, the patient page's link, and who may see them."""

from __future__ import annotations

import re

import pytest

from msinfusion.application.records import Role
from tests.unit.adapters.web.test_ui_routes import sign_in
from tests.worklist_centre import Centre, build

CBC = "monitoring:alemtuzumab_cbc:2026-03-01"


@pytest.fixture
def centre() -> Centre:
    return build("US")


def test_the_page_lists_filters_and_pages(centre: Centre) -> None:
    world = centre.world
    sign_in(world, Role.SCHEDULER)
    page = world.client.get("/worklist")
    assert page.status_code == 200
    assert 'href="/worklist" aria-current="page"' in page.text
    rows = re.findall(r'data-testid="worklist-item" data-item="([^"]+)"', page.text)
    assert CBC in rows
    assert "Record result" not in page.text
    only = world.client.get("/worklist", params={"therapy": "natalizumab"}).text
    assert CBC not in only
    assert "touch_authorized" in only
    digest = world.client.get("/worklist", params={"format": "csv"})
    assert digest.headers["content-type"].startswith("text/csv")
    assert digest.text.count("\n") == len(rows) + 1
    bad = world.client.get("/worklist", params={"due_before": "tomorrow"})
    assert bad.status_code == 422
    assert "due_before" in bad.text


def test_a_nurse_records_from_a_row_and_a_refusal_keeps_everything(centre: Centre) -> None:
    world, patient = centre.world, centre.patients["alemtuzumab"]
    token = sign_in(world, Role.NURSE)
    form = {"csrf_token": token, "patient_id": patient, "test": "cbc_diff", "on": "2026-03-02"}
    refused = world.client.post("/worklist/record", data=form)  # no value, flag or sign
    assert refused.status_code == 422
    assert 'data-testid="worklist-refused"' in refused.text
    assert CBC in refused.text
    forged = world.client.post(
        "/worklist/record", data={**form, "csrf_token": "x", "abnormal": "no"}
    )
    assert forged.status_code == 403
    done = world.client.post(
        "/worklist/record",
        data={**form, "abnormal": "no", "therapy": "alemtuzumab"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/worklist?therapy=alemtuzumab&done=record"
    assert CBC not in world.client.get(done.headers["location"]).text
    with world.uow_factory() as uow:
        labs = [e for e in uow.clinical_entries.list_for_patient(patient) if e.kind.value == "lab"]
    assert len(labs) == 1  # the refused and the forged posts stored nothing


def test_assign_and_resolve_from_the_page(centre: Centre) -> None:
    world, patient = centre.world, centre.patients["alemtuzumab"]
    token = sign_in(world, Role.PHYSICIAN)
    nurse = world.user_ids[Role.NURSE]
    assigned = world.client.post(
        "/worklist/assign",
        data={"csrf_token": token, "patient_id": patient, "item_id": CBC, "assignee": nurse},
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    assert "nurse1" in world.client.get("/worklist").text
    empty = world.client.post(
        "/worklist/resolve",
        data={"csrf_token": token, "patient_id": patient, "item_id": CBC, "reason": " "},
    )
    assert empty.status_code == 422
    assert "reason" in empty.text
    world.client.post(
        "/worklist/resolve",
        data={"csrf_token": token, "patient_id": patient, "item_id": CBC, "reason": "drawn at GP"},
    )
    assert CBC not in world.client.get("/worklist").text


def test_the_ledger_page_prints_as_pdf_and_csv_and_is_linked(centre: Centre) -> None:
    world, patient = centre.world, centre.patients["natalizumab"]
    sign_in(world, Role.NURSE)
    assert f'href="/patients/{patient}/ledger"' in world.client.get(f"/patients/{patient}").text
    page = world.client.get(f"/patients/{patient}/ledger", params={"since": "2026-01-01"})
    assert page.status_code == 200
    assert 'data-rule="TOUCH-14"' in page.text
    assert "Period 2026-01-01" in page.text
    pdf = world.client.get(f"/patients/{patient}/ledger", params={"format": "pdf"})
    assert pdf.status_code == 200, pdf.text[:300]
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    exported = world.client.get(f"/patients/{patient}/ledger", params={"format": "csv"})
    assert exported.text.startswith("programme,rule_id,requirement,")


def test_who_sees_the_worklist(centre: Centre) -> None:
    world = centre.world
    answer = world.client.get("/worklist", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/worklist"
    for role, status in ((Role.VIEWER, 403), (Role.PHARMACIST, 403), (Role.NURSE, 200)):
        sign_in(world, role)
        assert world.client.get("/worklist").status_code == status
        nav = world.client.get("/patients").text
        assert ('href="/worklist"' in nav) is (status == 200)

"""A nurse fills the TOUCH Pre-infusion Patient Checklist on the patient page, in Chromium.

The seeded centre (conftest: 2026-03-02 09:00 in Zurich, jurisdiction not set: every
programme's rules apply) gets a natalizumab patient with doses on 2026-01-05 and 2026-02-02;
dose 3 is due today. The nurse first sends the form with a question left open (refused, naming
it), then answers Q1 "yes": stored, and the ledger shows the dose's checklist as a stop answer.
"""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from tests.e2e.ui.conftest import BrowserFactory, Server
from tests.e2e.ui.test_accessibility import BLOCKING, run_axe
from tests.e2e.ui.test_infusion_day import sign_in
from tests.e2e.ui.test_worklist import _actor


def _natalizumab_patient(server: Server) -> str:
    centre = server.centre
    nurse, physician = _actor(server, "nurse1"), _actor(server, "physician1")
    patient = centre.records.add_patient(nurse, display_name="Synthetic Tysabri 01", synthetic=True)
    order = centre.records.add_order(
        physician, patient_id=patient.id, therapy_id="natalizumab", start_date=date(2026, 1, 5)
    )
    for number, day in ((1, "2026-01-05"), (2, "2026-02-02")):
        centre.clinical.record(
            nurse,
            patient.id,
            "given-dose",
            {"order_id": order.id, "dose_number": number, "on": day},
        )
    return str(patient.id)


def test_a_nurse_records_the_touch_checklist_and_a_yes_stops_the_dose(
    server: Server, new_browser: BrowserFactory
) -> None:
    patient_id = _natalizumab_patient(server)
    page = sign_in(new_browser(), server, "nurse1")
    page.goto(f"{server.url}/patients/{patient_id}")
    form = page.locator('form[data-form="programme-form"]')
    expect(form).to_contain_text("do not infuse")
    expect(form.get_by_label("Dose number")).to_have_value("3")
    answers = {"authorized": "Yes", "new_or_worsening_problem": "Yes", "immune_condition": "No"}
    for question, word in answers.items():
        form.locator(f'fieldset[data-question="{question}"]').get_by_label(word).check()
    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING]
    assert not blocking, f"serious or critical axe violations: {blocking}"
    # The browser's own "required" check would stop the post: drop it to see the server's.
    form.evaluate("f => f.noValidate = true")
    form.get_by_role("button", name="Record checklist").click()
    alert = page.get_by_test_id("form-error")
    expect(alert).to_be_visible()
    expect(page.get_by_test_id("error-field")).to_have_text("answers.immune_medicine")
    form = page.locator('form[data-form="programme-form"]')
    form.locator('fieldset[data-question="immune_medicine"]').get_by_label("No").check()
    form.get_by_role("button", name="Record checklist").click()
    expect(page.get_by_text("touch-pre-infusion-checklist for dose 3")).to_be_visible()
    page.get_by_test_id("ledger-link").click()
    row = page.locator('[data-testid="ledger-row"][data-rule="TOUCH-12/13"]').last
    expect(row).to_have_attribute("data-status", "stop-answer")
    expect(row).to_contain_text("Q1 yes")
    expect(row).to_contain_text("do not infuse, contact the prescriber")

"""A nurse clears an overdue alemtuzumab lab from the centre worklist, in Debian's Chromium.

The seeded centre (conftest: 2026-03-02 09:00 in Zurich) gets an alemtuzumab patient whose
course 1 ran 2025-12-01..05 with no monthly result recorded: the CBC due 2026-03-01 is
overdue (LEMUS-10). The nurse opens the worklist, filters by therapy, records the CBC from the
row (the clinical-entry use case) and the item leaves the list; the creatinine stays.
"""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect

from msinfusion.application.audit import Actor
from msinfusion.application.records import Role
from tests.e2e.ui.conftest import BrowserFactory, Server, screenshot
from tests.e2e.ui.test_accessibility import BLOCKING, run_axe
from tests.e2e.ui.test_infusion_day import sign_in

CBC = "monitoring:alemtuzumab_cbc:2026-03-01"
CREATININE = "monitoring:alemtuzumab_creatinine:2026-03-01"


def _actor(server: Server, username: str) -> Actor:
    with server.centre.access.uow_factory() as uow:
        user = uow.users.get_by_username(username)
    return server.centre.accounts.get_principal(user.id).acting(server.clock(), "seed")


def _alemtuzumab_patient(server: Server) -> str:
    centre = server.centre
    nurse, physician = _actor(server, "nurse1"), _actor(server, "physician1")
    assert nurse.role is Role.NURSE
    patient = centre.records.add_patient(
        nurse, display_name="Synthetic Lemtrada 01", sex="male", synthetic=True
    )
    start = date(2025, 12, 1)
    order = centre.records.add_order(
        physician, patient_id=patient.id, therapy_id="alemtuzumab", start_date=start
    )
    for number in range(1, 6):
        day = start + timedelta(days=number - 1)
        centre.clinical.record(
            nurse,
            patient.id,
            "given-dose",
            {"order_id": order.id, "dose_number": number, "on": day.isoformat()},
        )
    return str(patient.id)


def test_a_nurse_clears_an_overdue_alemtuzumab_lab_by_recording_it(
    server: Server, new_browser: BrowserFactory
) -> None:
    patient_id = _alemtuzumab_patient(server)
    page = sign_in(new_browser(), server, "nurse1")
    page.get_by_role("link", name="Worklist").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    page.get_by_label("Therapy").select_option("alemtuzumab")
    page.get_by_role("button", name="Show").click()
    row = page.locator(f'[data-testid="worklist-item"][data-item="{CBC}"]')
    expect(row).to_have_attribute("data-status", "overdue")
    expect(row).to_have_attribute("data-patient", patient_id)
    expect(row).to_contain_text("3 earlier slot(s) missed")
    screenshot(page, "worklist")
    blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING]
    assert not blocking, f"serious or critical axe violations: {blocking}"
    row.get_by_text("Record result").click()
    expect(row.get_by_label("Date of the result")).to_have_value("2026-03-02")
    row.get_by_label("Lab flags it abnormal").select_option("no")
    row.get_by_role("button", name="Record cbc_diff").click()
    expect(page.get_by_test_id("worklist-done")).to_have_text("✓ Result recorded.")
    expect(page.locator(f'[data-item="{CBC}"]')).to_have_count(0)
    expect(page.locator(f'[data-item="{CREATININE}"]')).to_have_count(1)
    expect(page.get_by_label("Therapy")).to_have_value("alemtuzumab")  # the filter is kept
    entries = server.centre.clinical.list_entries(_actor(server, "nurse1"), patient_id)
    cbc = [e for e in entries if e.data.get("test") == "cbc_diff"]
    assert [(e.on, e.data.get("abnormal"), e.recorded_by) for e in cbc] == [
        (date(2026, 3, 2), False, _actor(server, "nurse1").user_id)
    ]

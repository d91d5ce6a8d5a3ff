"""The rest of the day in Debian's Chromium (issue 18): a physician picks the premedication on
the order; a scheduler sees the nurse load, books a series (day 1 and day 15) in one step after
a refused one that booked nothing, and applies the optimised day plan, seeing what changed, with
a page opened before refused; a clerk's bad reminder contact is refused naming the field.

axe-core runs on every new page state (no serious or critical violation); the counts go to
``test-output/accessibility-booking.md`` and, with ``MSINFUSION_UPDATE_DOCS=1``, into
``docs/accessibility.md`` (between its booking markers) with the screenshots.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from msinfusion.application.audit import system_actor
from msinfusion.application.records import PatientIdentifier, Role
from tests.e2e.api.world import record_course_history
from tests.e2e.ui.conftest import PASSWORD, PROTOCOL_ID, START, BrowserFactory, Server, screenshot
from tests.e2e.ui.test_accessibility import (
    BLOCKING,
    DOC,
    DOC_SHOTS,
    ROOT,
    _report,
    _sign_in,
    run_axe,
)

REPORT = ROOT / "test-output" / "accessibility-booking.md"
BEGIN, END = "<!-- axe-results-booking:begin -->", "<!-- axe-results-booking:end -->"


def _off_grid_visit(server: Server) -> str:
    """Patient 4 booked today at 11:02 (Zurich) in Chair 4: off the plan's 5-minute grid."""
    system = system_actor(START)
    nurse = server.centre.accounts.login("nurse1", PASSWORD, at=START, remote_addr="t").acting(
        START, "t"
    )
    physician = server.centre.accounts.login(
        "physician1", PASSWORD, at=START, remote_addr="t"
    ).acting(START, "t")
    patient = server.centre.records.add_patient(
        nurse,
        display_name="Synthetic Patient 04",
        height_cm=Decimal(170),
        weight_kg=Decimal(70),
        identifiers=(PatientIdentifier(system="urn:test:mrn", value="MRN-0004"),),
        synthetic=True,
    )
    start = (START - timedelta(weeks=24)).date()
    order = server.centre.records.add_order(
        physician, patient_id=patient.id, therapy_id="ocrelizumab", start_date=start
    )
    record_course_history(
        server.centre, nurse, patient.id, order.id, start=start, today=START.date()
    )
    chair = server.centre.records.add_chair(system, name="Chair 4")
    return server.centre.records.book_appointment(
        nurse,
        patient_id=patient.id,
        chair_id=chair.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=START + timedelta(minutes=122),
        order_id=order.id,
    ).id


def test_series_nurse_load_day_plan_and_contact(
    server: Server, new_browser: BrowserFactory
) -> None:
    server.centre.accounts.create_user(
        system_actor(START), username="scheduler1", role=Role.SCHEDULER, password=PASSWORD
    )
    moved_id = _off_grid_visit(server)
    results: dict[str, list[dict[str, Any]]] = {}
    shots: list[Path] = []

    def check(page: Page, shown: str, role: str, shot: str) -> None:
        page.wait_for_load_state("networkidle")
        results[f"{shown} | {role}"] = run_axe(page)
        shots.append(screenshot(page, shot))

    # A clerk's reminder contact: refused naming the field, then stored.
    nurse = _sign_in(new_browser(), server, "nurse1")
    nurse.goto(server.url + "/patients/new")
    nurse.get_by_label("Name (required)").fill("Synthetic Contact Patient")
    nurse.get_by_label("Date of birth").fill("1984-05-06")
    nurse.get_by_label("Value 1").fill("MRN-4242")
    nurse.get_by_label("Contact for reminders").fill("call me")
    nurse.get_by_role("button", name="Register patient").click()
    expect(nurse.get_by_test_id("error-field")).to_have_text("reminder_contact")
    check(nurse, "/patients/new", "nurse, bad reminder contact", "patient-contact-refused")
    nurse.get_by_label("Contact for reminders").fill("+41 79 123 45 67")
    nurse.get_by_role("button", name="Register patient").click()
    expect(nurse.get_by_test_id("reminder-contact")).to_have_text("+41 79 123 45 67")
    patient_id = nurse.url.rsplit("/", 1)[1]

    # The physician orders ocrelizumab with cetirizine as the antihistamine, and signs.
    physician = _sign_in(new_browser(), server, "physician1")
    physician.goto(f"{server.url}/orders/new?patient_id={patient_id}&therapy_id=ocrelizumab")
    start = (START + timedelta(days=7)).date()
    physician.get_by_label("Start date").fill(start.isoformat())
    physician.get_by_label("Indication (required)").fill("relapsing MS")
    physician.locator("#premed-1").select_option("cetirizine")
    expect(physician.get_by_test_id("order-check")).to_contain_text("Dose 2 (day 15)")
    check(physician, "/orders/new", "physician, premedication chosen", "order-premedication")
    physician.get_by_role("button", name="Save draft order").click()
    expect(physician.get_by_test_id("order-premedications")).to_contain_text("cetirizine")
    physician.get_by_label("Your password (to sign)").fill(PASSWORD)
    physician.get_by_role("button", name="Sign order").click()
    expect(physician.get_by_test_id("order-status")).to_have_text("signed")
    order_id = physician.url.rsplit("/", 1)[1].split("?")[0]

    # The scheduler: the nurse load of the chosen day, then the series.
    context = new_browser()
    scheduler = _sign_in(context, server, "scheduler1")
    scheduler.goto(f"{server.url}/appointments/new?order_id={order_id}")
    expect(scheduler.get_by_test_id("nurse-load")).to_be_visible()
    expect(scheduler.get_by_test_id("booking-preview")).to_contain_text("2 nurses on duty")
    check(scheduler, "/appointments/new", "scheduler, nurse load", "booking-nurse-load")
    scheduler.get_by_test_id("series-link").click()
    expect(scheduler.get_by_label("Date of dose 2")).to_have_value(
        (start + timedelta(days=14)).isoformat()
    )
    check(scheduler, "/appointments/series", "scheduler", "booking-series")
    scheduler.get_by_label("Date of dose 2").fill((start + timedelta(days=3)).isoformat())
    scheduler.get_by_label("Chair").select_option(label="Chair 2")
    scheduler.get_by_role("button", name="Book the series").click()
    expect(scheduler.get_by_test_id("form-error")).to_contain_text("doses[1] (dose 2)")
    expect(scheduler.get_by_test_id("form-error")).to_contain_text("Nothing was stored")
    check(scheduler, "/appointments/series", "scheduler, a dose refused", "booking-series-refused")
    with server.centre.access.uow_factory() as uow:
        assert [a for a in uow.appointments.list() if a.order_id == order_id] == []
    scheduler.get_by_label("Date of dose 2").fill((start + timedelta(days=14)).isoformat())
    scheduler.get_by_role("button", name="Book the series").click()
    expect(scheduler.get_by_test_id("booked-series")).to_contain_text("2 doses")
    windows = scheduler.get_by_test_id("dose-windows")
    expect(windows).to_contain_text(f"booked {start.isoformat()}")
    expect(windows).to_contain_text(f"booked {(start + timedelta(days=14)).isoformat()}")

    # The day plan, applied; a page opened before is refused and changes nothing.
    scheduler.goto(server.url + "/schedule?solver=greedy")
    expect(scheduler.get_by_test_id("apply-plan")).to_be_visible()
    stale = context.new_page()
    stale.goto(server.url + "/schedule?solver=greedy")
    expect(stale.get_by_test_id("apply-plan")).to_be_visible()
    check(scheduler, "/schedule", "scheduler, a plan to apply", "day-plan-apply")
    scheduler.get_by_test_id("apply-plan").click()
    row = scheduler.locator(f'tr[data-appointment="{moved_id}"]')
    expect(row.get_by_test_id("before")).to_contain_text("Chair 4, 11:02")
    expect(row.get_by_test_id("after")).not_to_contain_text("11:02")
    check(scheduler, "/schedule/apply", "scheduler, applied", "day-plan-applied")
    with server.centre.access.uow_factory() as uow:
        moved = uow.appointments.get(moved_id)
    assert moved.starts_at > START + timedelta(minutes=122)
    stale.get_by_test_id("apply-plan").click()
    expect(stale.get_by_test_id("form-error")).to_contain_text("changed after the plan was made")
    check(stale, "/schedule/apply", "scheduler, refused (stale plan)", "day-plan-apply-refused")
    with server.centre.access.uow_factory() as uow:
        assert uow.appointments.get(moved_id) == moved
        moves = [e.outcome for e in uow.audit.list(action="schedule.apply")]
    assert moves == ["ok", "invalid"]

    table = _report(results)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(table, encoding="utf-8")
    if os.environ.get("MSINFUSION_UPDATE_DOCS") == "1":
        text = DOC.read_text(encoding="utf-8")
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{BEGIN}\n{table}{END}{tail}", encoding="utf-8")
        for shot in shots:
            shutil.copyfile(shot, DOC_SHOTS / shot.name)
    blocking = {
        page: [f"{v['impact']} {v['id']} ({v['help']}): {v['targets'][:3]}" for v in found]
        for page, found in results.items()
        if any(v["impact"] in BLOCKING for v in found)
    }
    assert not blocking, f"serious or critical axe violations: {blocking}"

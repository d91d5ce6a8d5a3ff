"""Pharmacy to chair in a real browser: a pharmacist verifies the dose, records the bag, a second
pharmacist signs the check, the label is printed; at the chair the wrong bag id is refused
(``bag-mismatch``, nothing stored) and the label's bag id starts the infusion; the infusion
record prints (HTML print view and PDF)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import Page, expect

from msinfusion.application.audit import system_actor
from msinfusion.application.records import Role
from tests.e2e.ui.conftest import PASSWORD, START, BrowserFactory, Server, screenshot
from tests.e2e.ui.test_infusion_day import act, refused, sign_in, status
from tests.e2e.ui.test_safety_across_visits import Api


def _pharmacists(server: Server) -> None:
    for username, name in (("pharmacist1", "Pia Pharma"), ("pharmacist2", "Per Second")):
        server.centre.accounts.create_user(
            system_actor(START),
            username=username,
            role=Role.PHARMACIST,
            password=PASSWORD,
            display_name=name,
        )


def _pharmacist_page(context: Any, server: Server) -> Page:
    page: Page = context.new_page()
    page.goto(server.url + "/login?next=/pharmacy")
    page.get_by_label("User name").fill("pharmacist1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Pharmacy verification")).to_be_visible()
    return page


def test_verify_prepare_check_then_the_wrong_bag_is_refused_and_the_right_one_starts(
    server: Server, new_browser: BrowserFactory
) -> None:
    _pharmacists(server)
    appointment = server.ids["appointment1"]
    pharmacy = _pharmacist_page(new_browser(), server)
    dose = pharmacy.locator(f"#dose-{appointment}")
    expect(dose.get_by_test_id("preparation-status")).to_have_text("to verify")
    expect(dose.get_by_test_id("gates")).to_be_visible()
    expect(dose.get_by_test_id("labs")).to_contain_text("hbsag")
    screenshot(pharmacy, "pharmacy-queue")
    dose.get_by_role("button", name="Verify dose").click()
    dose = pharmacy.locator(f"#dose-{appointment}")
    expect(dose.get_by_test_id("preparation-status")).to_have_text("verified")
    dose.get_by_label("Product").fill("Ocrevus 300 mg/10 mL concentrate")
    dose.get_by_label("Lot").fill("H0123")
    dose.get_by_label("Expiry").fill("2027-01-31")
    dose.get_by_role("button", name="Record preparation").click()
    dose = pharmacy.locator(f"#dose-{appointment}")
    expect(dose.get_by_test_id("preparation-status")).to_have_text("prepared")
    # The one who prepared it cannot sign the second check.
    dose.get_by_label("Checked by (user name)").fill("pharmacist1")
    dose.get_by_label("Their password").fill(PASSWORD)
    dose.get_by_role("button", name="Sign the check").click()
    expect(pharmacy.get_by_role("alert")).to_contain_text("another person")
    dose = pharmacy.locator(f"#dose-{appointment}")
    dose.get_by_label("Checked by (user name)").fill("pharmacist2")
    dose.get_by_label("Their password").fill(PASSWORD)
    dose.get_by_role("button", name="Sign the check").click()
    dose = pharmacy.locator(f"#dose-{appointment}")
    expect(dose.get_by_test_id("preparation-status")).to_have_text("checked")
    expect(dose.get_by_test_id("preparation")).to_contain_text("Per Second (pharmacist2)")
    dose.get_by_role("link", name="Print bag label").click()
    label = pharmacy.get_by_test_id("bag-label")
    expect(label.get_by_role("img", name="Barcode of bag")).to_be_visible()
    bag_id = pharmacy.get_by_test_id("bag-id").inner_text().strip()
    assert bag_id.startswith("prep-")
    screenshot(pharmacy, "bag-label")

    # At the chair.
    clock = server.clock
    page = sign_in(new_browser(), server, "nurse1")
    # Checked in through the API (the board's check-in has its own tests): two identifiers.
    nurse = Api(server, "nurse1")
    opened = nurse.call("POST", "/api/sessions", {"appointment_id": appointment}, status=201)
    session_id = opened.json()["session_id"]
    nurse.command(
        session_id,
        {
            "command": "CheckIn",
            "patient_id": server.ids["patient1"],
            "protocol_id": "ocrelizumab-600-standard",
            "dose_number": 3,
            "identity_check": "identifier",
            "confirmed_identifier": "urn:test:mrn|MRN-0001",
        },
    )
    nurse.close()
    page.goto(f"{server.url}/sessions/{session_id}")
    expect(status(page)).to_contain_text("Checked in")
    act(page, "Record assessment")
    act(page, "Give premedication: methylprednisolone")
    act(page, "Give premedication: antihistamine (e.g. diphenhydramine)")
    clock.advance(timedelta(minutes=30))
    page.get_by_label("Bag id (scan or type)").fill("prep-0000000000000000")
    refused(page, "Start infusion", "bag-mismatch")
    expect(status(page)).to_contain_text("Checked in")
    screenshot(page, "chairside-bag-mismatch")
    page.get_by_label("Bag id (scan or type)").fill(bag_id)
    act(page, "Start infusion")
    expect(status(page)).to_contain_text("Infusing")

    # The record prints, with the bag and the names of who signed.
    clock.advance(timedelta(minutes=20))
    page.goto(f"{server.url}/sessions/{session_id}/record")
    expect(page.get_by_role("heading", name="Infusion record")).to_be_visible()
    expect(page.get_by_test_id("record-bag")).to_contain_text(bag_id)
    expect(page.get_by_test_id("record-bag")).to_contain_text("Per Second (pharmacist2)")
    expect(page.get_by_test_id("record-entries")).to_contain_text("Infusion started")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    screenshot(page, "infusion-record")
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    path = download.value.path()
    assert path.read_bytes().startswith(b"%PDF-")

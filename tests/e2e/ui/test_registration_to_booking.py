"""A clerk's, a physician's and a scheduler's path in Debian's Chromium: register a patient,
order ocrelizumab and sign it with the password, book day 1 and day 15 from the order's
calendar; a second booking of the same dose (from a page opened before) is refused with its
rule and nothing is stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from msinfusion.application.audit import system_actor
from msinfusion.application.records import Role
from tests.e2e.ui.conftest import PASSWORD, START, BrowserFactory, Server, screenshot


def sign_in(context: Any, server: Server, username: str) -> Page:
    assert isinstance(context, BrowserContext)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(server.url + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return page


def test_register_order_sign_and_book_day_1_and_15(
    server: Server, new_browser: BrowserFactory
) -> None:
    server.centre.accounts.create_user(
        system_actor(START), username="scheduler1", role=Role.SCHEDULER, password=PASSWORD
    )
    # 1. register (a nurse at the desk)
    nurse = sign_in(new_browser(), server, "nurse1")
    nurse.get_by_role("link", name="Register").click()
    nurse.get_by_label("Name (required)").fill("Synthetic Browser Patient")
    nurse.get_by_label("Date of birth").fill("1984-05-06")
    nurse.get_by_label("Height (cm)").fill("172")
    nurse.get_by_label("Weight (kg)").fill("70")
    nurse.get_by_label("Value 1").fill("MRN-7777")
    screenshot(nurse, "registration")
    nurse.get_by_role("button", name="Register patient").click()
    expect(nurse.get_by_role("heading", name="Synthetic Browser Patient")).to_be_visible()
    patient_url = nurse.url

    # 2. order ocrelizumab and sign (the physician)
    physician = sign_in(new_browser(), server, "physician1")
    physician.goto(patient_url)
    physician.get_by_role("link", name="New order for this patient").click()
    physician.get_by_label("Therapy").select_option("ocrelizumab")
    start = (START + timedelta(days=7)).date()
    physician.get_by_label("Start date").fill(start.isoformat())
    physician.get_by_label("Indication (required)").fill("relapsing MS")
    expect(physician.get_by_test_id("order-check")).to_contain_text("Dose 2 (day 15)")
    screenshot(physician, "order-new")
    physician.get_by_role("button", name="Save draft order").click()
    expect(physician.get_by_test_id("order-status")).to_contain_text("draft")
    physician.get_by_label("Your password (to sign)").fill("not my password")
    physician.get_by_role("button", name="Sign order").click()
    expect(physician.get_by_test_id("form-error")).to_contain_text("password")
    physician.get_by_label("Your password (to sign)").fill(PASSWORD)
    physician.get_by_role("button", name="Sign order").click()
    expect(physician.get_by_test_id("order-status")).to_have_text("signed")
    expect(physician.get_by_test_id("signed-by")).to_contain_text("physician1")
    screenshot(physician, "order-signed")
    order_url = physician.url

    # 3. book day 1 and day 15 (the scheduler)
    context = new_browser()
    scheduler = sign_in(context, server, "scheduler1")
    scheduler.goto(order_url)
    scheduler.get_by_test_id("book-link").click()
    expect(scheduler.get_by_test_id("chair-time")).to_be_visible()
    scheduler.get_by_label("Time").fill("09:00")
    scheduler.get_by_label("Chair").select_option(label="Chair 2")
    screenshot(scheduler, "booking")
    scheduler.get_by_role("button", name="Book", exact=True).click()
    expect(scheduler.get_by_test_id("booked")).to_be_visible()
    # A second page opened before day 15 is booked: its booking must be refused.
    stale = context.new_page()
    stale.goto(scheduler.url)
    expect(stale.get_by_role("heading", name="Book dose 2")).to_be_visible()
    expect(scheduler.get_by_role("heading", name="Book dose 2")).to_be_visible()
    scheduler.get_by_label("Chair").select_option(label="Chair 2")
    scheduler.get_by_role("button", name="Book", exact=True).click()
    expect(scheduler.get_by_test_id("booked")).to_be_visible()
    windows = scheduler.get_by_test_id("dose-windows")
    expect(windows).to_contain_text(f"booked {start.isoformat()}")
    expect(windows).to_contain_text(f"booked {(start + timedelta(days=14)).isoformat()}")
    # A free chair, so the refusal is the dose's own (the chair list's order is not fixed).
    stale.get_by_label("Chair").select_option(label="Chair 3")
    stale.get_by_role("button", name="Book", exact=True).click()
    expect(stale.get_by_test_id("form-error")).to_contain_text("already booked")
    expect(stale.get_by_test_id("form-error")).to_contain_text("duplicate")
    screenshot(stale, "booking-refused")
    patient_id = patient_url.rsplit("/", 1)[1]
    with server.centre.access.uow_factory() as uow:
        live = list(uow.appointments.list_for_patient(patient_id))
    assert sorted(a.dose_number for a in live) == [1, 2]

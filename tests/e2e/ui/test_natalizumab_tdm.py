"""Model-informed natalizumab dosing in the browser (issue 23): a nurse enters two troughs on
the patient page, the panel shows the MAP fit and the proposed interval as decision support, the
physician applies it and the order's calendar is re-planned (read back through the API).

Debian's Chromium launched by path (never downloaded), the live uvicorn server over SQLite of
``conftest.server`` (so the new entry kinds go through the real storage)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.e2e.ui.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, START, Server

GIVEN = (date(2025, 12, 8), date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2))


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    launched.close()


def _sign_in(browser: Browser, server: Server, username: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(server.url + "/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Chair board")).to_be_visible()
    return page


def _natalizumab_patient(server: Server) -> tuple[str, str]:
    accounts, records = server.centre.accounts, server.centre.records
    nurse, physician = (
        accounts.login(name, PASSWORD, at=START, remote_addr="seed").acting(START, "seed")
        for name in ("nurse1", "physician1")
    )
    patient = records.add_patient(
        nurse, display_name="Synthetic TDM Patient", weight_kg=70, synthetic=True
    )
    order = records.add_order(
        physician, patient_id=patient.id, therapy_id="natalizumab", start_date=GIVEN[0]
    )
    for number, day in enumerate(GIVEN, start=1):
        server.centre.clinical.record(
            nurse,
            patient.id,
            "given-dose",
            {"order_id": order.id, "dose_number": number, "on": day.isoformat()},
        )
    return patient.id, order.id


def _calendar_due(server: Server, order_id: str) -> list[str]:
    principal = server.centre.accounts.login(
        "physician1", PASSWORD, at=server.clock(), remote_addr="test"
    )
    _, raw = server.centre.accounts.issue_token(
        principal.acting(server.clock(), "test"), principal.user_id, label="ui-test"
    )
    answer = httpx.get(
        f"{server.url}/api/orders/{order_id}/calendar",
        headers={"Authorization": f"Bearer {raw}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return [d["due"] for d in answer.json()["doses"]][:6]


def test_two_troughs_then_the_physician_applies_the_interval(
    browser: Browser, server: Server
) -> None:
    patient_id, order_id = _natalizumab_patient(server)
    # Every 4 weeks from 8 Dec 2025 (hand-counted: + 28 days each).
    before = ["2025-12-08", "2026-01-05", "2026-02-02", "2026-03-02", "2026-03-30", "2026-04-27"]
    assert _calendar_due(server, order_id) == before

    nurse = _sign_in(browser, server, "nurse1")
    nurse.goto(f"{server.url}/patients/{patient_id}")
    panel = nurse.get_by_test_id("tdm-panel")
    expect(panel).to_contain_text("No trough recorded yet.")
    for at, value in (("2026-02-02T07:30:00+01:00", "42"), ("2026-03-02T07:30:00+01:00", "45")):
        form = nurse.get_by_test_id("tdm-form")
        form.get_by_label("Measured at (with offset)").fill(at)
        form.get_by_label("Trough µg/mL").fill(value)
        form.get_by_role("button", name="Record trough and fit").click()
        expect(nurse.get_by_test_id("tdm-troughs")).to_contain_text(value)
    expect(nurse.get_by_test_id("tdm-chart")).to_be_visible()
    expect(nurse.get_by_test_id("tdm-orderable")).to_have_text("6w")
    expect(panel).to_contain_text("Decision support only")
    expect(nurse.get_by_test_id("tdm-apply")).to_have_count(0)  # a nurse never applies
    assert _calendar_due(server, order_id) == before  # nothing applied automatically
    nurse.context.close()

    physician = _sign_in(browser, server, "physician1")
    physician.goto(f"{server.url}/patients/{patient_id}")
    apply = physician.get_by_test_id("tdm-apply")
    apply.get_by_label("I acknowledge every 6w is extended-interval dosing (off-label)").check()
    apply.get_by_role("button", name="Apply every 6w to the order (re-plans the calendar)").click()
    expect(physician.get_by_test_id("tdm-order-interval")).to_have_text("6w")
    # Doses 1-4 keep their dates; dose 5 is 6 weeks after dose 4 (2 Mar + 42 days = 13 Apr),
    # dose 6 six weeks later (25 May).
    after = ["2025-12-08", "2026-01-05", "2026-02-02", "2026-03-02", "2026-04-13", "2026-05-25"]
    assert _calendar_due(server, order_id) == after
    physician.context.close()

"""A nurse runs an ocrelizumab 600 mg standard infusion in the browser, check-in to discharge,
with a moderate reaction handled on the way; a second nurse's board follows live (SSE)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.ui.conftest import PASSWORD, BrowserFactory, Server, screenshot


def sign_in(context: Any, server: Server, username: str, *, shot: str | None = None) -> Page:
    assert isinstance(context, BrowserContext)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/login?next=/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Chair board")).to_be_visible()
    return page


def due_at(page: Page, action: str) -> datetime:
    """The time the chairside's due list gives for ``action`` (rendered at the server clock)."""
    value = page.locator(f'[data-testid="due-list"] time[data-action="{action}"]').first
    text = value.get_attribute("datetime")
    assert text, f"no due time for {action}"
    return datetime.fromisoformat(text)


def press(page: Page, button: Any) -> None:
    """Click ``button`` and wait until the server's answer has replaced the chairside screen."""
    page.locator("#chairside").evaluate("element => element.setAttribute('data-stale', '')")
    button.click()
    expect(page.locator("#chairside:not([data-stale])")).to_have_count(1)


def act(page: Page, button: str) -> None:
    """Press one action button and wait for what was recorded."""
    press(page, page.get_by_role("button", name=button, exact=True))
    expect(page.get_by_test_id("flash")).to_be_visible()


def refused(page: Page, button: str, rule: str) -> None:
    press(page, page.get_by_role("button", name=button, exact=True))
    expect(page.get_by_test_id("refusal")).to_be_visible()
    expect(page.get_by_test_id("rule")).to_have_text(rule)


def status(page: Page) -> Any:
    return page.get_by_test_id("session-status")


def test_a_nurse_runs_an_ocrelizumab_infusion_with_a_moderate_reaction(
    server: Server, new_browser: BrowserFactory
) -> None:
    clock = server.clock
    page = sign_in(new_browser(), server, "nurse1", shot="login")
    chair1 = page.locator(f'[data-appointment="{server.ids["appointment1"]}"]')
    expect(chair1.get_by_test_id("status")).to_contain_text("Booked")
    expect(page.get_by_text("on the centre's clock (Europe/Zurich)")).to_be_visible()
    expect(chair1.get_by_role("heading")).to_contain_text("09:00")  # 08:00 UTC, in Zurich
    screenshot(page, "board-morning")

    # Check-in, assessment, premedication.
    # Two identifiers: the stated name and date of birth (Synthetic Patient 01: 1981-01-11).
    chair1.get_by_label("Stated name is Synthetic Patient 01").check()
    chair1.get_by_label("Stated date of birth").fill("1981-01-11")
    page.get_by_role("button", name="Check in Synthetic Patient 01 at Chair 1").click()
    expect(status(page)).to_contain_text("Checked in")
    session_id = page.url.rsplit("/", 1)[-1]
    # Keyboard only: focus the button (visible focus ring) and press Enter.
    assessment = page.get_by_role("button", name="Record assessment", exact=True)
    assessment.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("flash")).to_be_visible()  # the first flash on this screen
    expect(page.get_by_test_id("flash")).to_be_focused()
    act(page, "Give premedication: methylprednisolone")
    antihistamine = page.locator('form[data-command="GivePremedication"]').filter(
        has_text="Give premedication: antihistamine"
    )
    # The pick-list offers the formulary's diphenhydramine 50 mg IV; the nurse charts 25 mg.
    expect(antihistamine.get_by_label("Drug given")).to_have_value("diphenhydramine")
    antihistamine.get_by_label("Dose given (number and unit)").fill("25 mg")
    antihistamine.get_by_label("Route").select_option("IV")
    act(page, "Give premedication: antihistamine (e.g. diphenhydramine)")
    # Starting at once breaks the premedication window: refused with the rule, nothing stored.
    refused(page, "Start infusion", "premedication-window")
    expect(page.get_by_text("by a verbal order you record here")).to_be_visible()
    screenshot(page, "chairside-refusal")
    clock.advance(timedelta(minutes=30))
    act(page, "Start infusion")
    expect(status(page)).to_contain_text("Infusing")
    expect(page.get_by_test_id("rate-now")).to_contain_text("40 mL/h")

    # First ladder step at 30 min, vitals, then a moderate reaction at 45 min.
    clock.set(due_at(page, "change-rate"))
    act(page, "Confirm rate step to 80 mL/h")
    clock.advance(timedelta(minutes=15))
    page.get_by_label("Heart rate (/min)").fill("92")
    page.get_by_label("Systolic (mmHg)").fill("128")
    page.get_by_label("Diastolic (mmHg)").fill("78")
    act(page, "Record vital signs")
    page.get_by_text("Record a reaction").click()
    reaction_form = page.locator('form[data-command="RecordReaction"]')
    expect(reaction_form).to_contain_text("Halve the rate (0.5 times the rate at onset) = 40 mL/h")
    expect(reaction_form).to_contain_text("Hold that rate for at least 30 min")
    reaction_form.get_by_label("Moderate").check()
    reaction_form.get_by_label("flushing").check()
    reaction_form.get_by_label("itching").check()
    act(page, "Record reaction and apply the protocol rule")
    expect(page.get_by_test_id("rate-now")).to_contain_text("40 mL/h")
    expect(page.get_by_test_id("timeline")).to_contain_text("Moderate reaction")
    screenshot(page, "chairside-reaction")
    refused(page, "Confirm rate step to 80 mL/h", "reaction-hold")
    clock.advance(timedelta(minutes=10))
    act(page, "Record reaction resolved")

    # Back up the ladder after the hold, one step at a time, until the bag is empty.
    for _ in range(8):
        step = page.get_by_role("button", name="Confirm rate step to", exact=False)
        if step.count() == 0:
            break
        clock.set(due_at(page, "change-rate"))
        press(page, step)
        expect(page.get_by_test_id("flash")).to_be_visible()
    expect(page.get_by_test_id("rate-now")).to_contain_text("200 mL/h")
    clock.set(due_at(page, "complete-infusion") + timedelta(seconds=1))
    act(page, "Complete infusion")
    expect(status(page)).to_contain_text("Observation")
    refused(page, "Discharge patient", "observation")
    clock.advance(timedelta(minutes=30))
    page.get_by_label("Heart rate (/min)").fill("76")
    act(page, "Record vital signs")
    clock.set(due_at(page, "discharge"))
    screenshot(page, "chairside-observation")
    act(page, "Discharge patient")
    expect(status(page)).to_contain_text("Discharged")
    expect(page.get_by_test_id("volume-now")).to_contain_text("500 of 500 mL (100%)")
    screenshot(page, "chairside-discharged")

    # The stored events, read back through the JSON API with the same browser session.
    answer = page.request.get(f"{server.url}/api/sessions/{session_id}/events")
    assert answer.ok
    events = answer.json()["events"]
    types = [e["type"] for e in events]
    assert types[:5] == [
        "SessionCheckedIn",
        "AssessmentRecorded",
        "PremedicationGiven",
        "PremedicationGiven",
        "InfusionStarted",
    ]
    assert types[-3:] == ["InfusionCompleted", "VitalsRecorded", "PatientDischarged"]
    assert {e["user"] for e in events} == {"nurse1"}
    reaction = next(e for e in events if e["type"] == "ReactionRecorded")
    assert reaction["severity"] == "moderate"
    assert reaction["symptoms"] == ["itching", "flushing"]  # form order
    assert reaction["rate_cap_ml_per_h"] == "40"
    halved = events[types.index("ReactionRecorded") + 1]
    assert (halved["type"], halved["cause"], halved["rate_ml_per_h"]) == (
        "RateChanged",
        "reaction",
        "40",
    )
    rates = [e["rate_ml_per_h"] for e in events if e["type"] == "RateChanged"]
    assert rates == ["80", "40", "80", "120", "160", "200"]
    completed = next(e for e in events if e["type"] == "InfusionCompleted")
    assert completed["volume_infused_ml"] == "500"
    assert completed["dose_delivered_mg"] == "600"
    started = datetime.fromisoformat(events[types.index("InfusionStarted")]["at"])
    assert started == datetime.fromisoformat("2026-03-02T08:30:00+00:00")

    # The board shows the chair released; the patient page lists the reaction.
    page.goto(server.url + "/")
    expect(chair1.get_by_test_id("status")).to_contain_text("Discharged")
    expect(chair1).to_contain_text("Reaction recorded: moderate")
    screenshot(page, "board")
    page.get_by_role("link", name="Synthetic Patient 01").click()
    expect(page.get_by_role("heading", name="Course calendar")).to_be_visible()
    expect(page.get_by_text("moderate: itching, flushing")).to_be_visible()
    screenshot(page, "patient")
    page.goto(server.url + "/protocols/ocrelizumab-600-standard")
    expect(page.get_by_test_id("ladder")).to_contain_text("200")
    screenshot(page, "protocol")


def test_one_nurses_check_in_appears_on_another_nurses_board_without_reload(
    server: Server, new_browser: BrowserFactory
) -> None:
    first = sign_in(new_browser(), server, "nurse1")
    second = sign_in(new_browser(), server, "nurse2")
    expect(second.locator("body[data-live=open]")).to_have_count(1)
    second.evaluate("window.__sameDocument = true")
    chair2 = second.locator(f'[data-appointment="{server.ids["appointment2"]}"]')
    expect(chair2.get_by_test_id("status")).to_contain_text("Booked")

    first.get_by_label("MRN or wristband scan for Synthetic Patient 02").fill("MRN-0002")

    first.get_by_role("button", name="Check in Synthetic Patient 02 at Chair 2").click()
    expect(first.get_by_test_id("session-status")).to_contain_text("Checked in")

    expect(chair2.get_by_test_id("status")).to_contain_text("Checked in", timeout=5_000)
    expect(chair2.get_by_role("link", name="Open chairside")).to_be_visible()
    assert second.evaluate("window.__sameDocument") is True  # updated in place, no reload
    screenshot(second, "board-live")
